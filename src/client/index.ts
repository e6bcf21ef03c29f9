// The protocol client library: WebSocket client with reconnect and resume, and the REST client.
export * from './client.ts';
export * from './rest.ts';
export * from './backoff.ts';
export * from './url.ts';
export { guessSeqOrder } from './seq.ts';
export type { EventIterator } from './event-iterator.ts';
