// The load tester: runLoadTest and its types. Gates, reports and the dashboard build on these.
export * from './types.ts';
export { runLoadTest } from './run.ts';
export { resolveLoadTestOptions, plannedEvents, checkLoopbackTarget, isLoopbackHost, LOAD_DEFAULTS, defaultLocalAddresses } from './options.ts';
export { compareSeq } from './seq-order.ts';
