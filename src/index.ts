// The library entry point (`import { ... } from 'bugzapp'`): what a project needs to run bugzapp from
// code. The CLI (src/cli) is a thin layer over these same functions.

// the wire contract: message types, encode/decode, close codes, REST shapes, tokens
export * from './protocol/index.ts';

// the coded errors every function here throws
export * from './errors.ts';

// the reference server
export { createServer, resolveServeOptions, SERVE_DEFAULTS } from './server/index.ts';
export type { ServeOptions, ResolvedServeOptions, RunningServer, ServerEvents } from './server/index.ts';

// the protocol client (WebSocket with reconnect and resume) and the REST client
export { BugzappClient, createClient, createRestClient, RestClient, resolveHttpBase } from './client/index.ts';
export type {
  BugzappClientOptions,
  ClientEvents,
  ClientState,
  ClientStateName,
  ReceivedEvent,
  RestClientOptions,
  TokenProvider,
} from './client/index.ts';

// the load tester
export { runLoadTest, resolveLoadTestOptions, plannedEvents, LOAD_DEFAULTS } from './loadtest/index.ts';
export type * from './loadtest/types.ts';
export { startServerProcess } from './loadtest/server-process.ts';
export type { ServerProcess, ServerProcessOptions } from './loadtest/server-process.ts';

// the conformance suite (bugzapp check): every rule of docs/protocol.md as a named case
export { runCheck, resolveCheckOptions, PROTOCOL_VERSION, ALL_CASES, SECTION_TITLES, selectCases } from './check/index.ts';
export { formatCheckJUnit, formatCheckMarkdown, formatCheckText } from './check/index.ts';
export type * from './check/types.ts';
