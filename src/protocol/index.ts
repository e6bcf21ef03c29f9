// The wire contract of docs/protocol.md, shared by server, client, load tester and fixtures.
export * from './messages.ts';
export * from './codec.ts';
export * from './close-codes.ts';
export * from './rest.ts';
export * from './token.ts';
