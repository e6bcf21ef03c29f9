// The stable contract of the load tester: resolved options, the result object and the progress events.
// The CLI, gates, reports and the dashboard read these; keep them additive.

/** Operations the fire phase mixes. Keys match the `--mix` flag (`bug_report:70,comment:20,update:10`). */
export type MixOperation = 'bug_report' | 'comment' | 'update' | 'delete';
export const MIX_OPERATIONS: readonly MixOperation[] = ['bug_report', 'comment', 'update', 'delete'];

/** Relative weights per operation; operations absent or 0 are never fired. */
export type LoadMix = Partial<Record<MixOperation, number>>;

export interface LoadTestOptions {
  /**
   * Targets (http:// or ws:// base URLs, loopback only). Clients and POSTs are spread over them round
   * robin. Empty: runLoadTest starts the reference server as a child process. @default []
   */
  urls: string[];
  /** HS256 secret to mint tokens with. @default DEV_SECRET (or the started server's) */
  secret: string;
  /** Simulated users (ids "1".."users" offset by userIdBase). @default 100 */
  users: number;
  /** Connections per user. @default 1 */
  connsPerUser: number;
  /** New connections per second during the connect phase. @default 500 */
  connectRate: number;
  /** Number of REST operations to fire; exclusive with durationMs. @default 200 (when durationMs unset) */
  events?: number;
  /** Fire for this long instead of a fixed count (events = rate * duration). */
  durationMs?: number;
  /** Open arrival rate of REST operations, per second. @default 50 */
  rate: number;
  /** Operation weights. @default { bug_report: 70, comment: 20, update: 10 } */
  mix: LoadMix;
  /** Fraction of created bug reports that get an assignee (a notification), 0..1. @default 0.5 */
  assignRatio: number;
  /** How long to wait after the last fire for what is still expected. @default 10_000 */
  drainTimeoutMs: number;
  /**
   * Worker threads holding the connections; 0 = all in the main thread. Given as 'auto': the cores the
   * server under test leaves free (cores minus one per server instance minus the main thread), at least
   * one, so one on a 2-core machine that also runs the server; under 1,000 connections, 0. @default 'auto'
   */
  workers: number;
  /** The limit to check; undefined = what the server advertises, else measured. */
  rateLimit?: { max: number; windowMs: number };
  /** Skip the rate-limit probe. @default false */
  skipRateLimit: boolean;
  /** Loopback source addresses rotated over connections. @default ['127.0.0.1'] .. ['127.0.0.1'..'127.0.0.8'] */
  localAddresses: string[];
  /** First user id (users are userIdBase+1 .. userIdBase+users). @default 0 */
  userIdBase: number;
  /** Generator event-loop lag p99 (ms) above which the run is marked saturated (invalid). @default 100 */
  saturationLagMs: number;
  /** How often progress events are emitted, ms. @default 250 */
  progressIntervalMs: number;
  /** Timeout for the connect phase. @default 30_000 */
  connectTimeoutMs: number;
  /** Start the reference server as a child process when urls is empty. @default true */
  startServer: boolean;
  /** Every intervalMs from the start of the fire phase, cut percent% of the open connections. @default none */
  churn?: { percent: number; intervalMs: number };
  /** At atMs after the start of the fire phase, cut percent% of the open connections at once. @default [] */
  storms?: { percent: number; atMs: number }[];
  /**
   * Mint the connections' tokens with this lifetime (ms, whole seconds, at least 1 s): the server closes
   * them with 4001 when it runs out and each reconnects with a fresh token and resumes. @default 24 h tokens
   */
  tokenTtlMs?: number;
  /**
   * From the start of the fire phase, percent% of the open connections stop reading their socket (a
   * seeded choice); they read again after durationMs, or without it when firing ends or after the
   * server's heartbeat interval, whichever comes first (a paused client cannot see the server act). Their
   * receipts' latency is reported apart (latency.slow). @default none
   */
  slow?: { percent: number; durationMs?: number };
  /**
   * Pad the text of fired events: bug reports' descriptions by about this many bytes, comments' bodies by
   * as much as their 10,000-byte limit leaves. Bigger frames fill a paused connection's buffers sooner
   * (loopback's kernel buffers take about 4 MB before a server's own buffer grows). @default 0 (~300-byte events)
   */
  eventBytes?: number;
  /** Seed of the choice of connections to cut or pause (reported, so a run can be repeated). @default random */
  seed?: number;
}

/** What callers pass: everything optional; resolveLoadTestOptions fills the defaults and checks ranges. */
export type LoadTestInput = Partial<Omit<LoadTestOptions, 'workers'>> & { workers?: number | 'auto' };

export type LoggedType = 'bug_report' | 'comment' | 'notification';

/** Delivery figures for one event type. A loss and a duplicate never cancel: counted per (event, connection). */
export interface DeliveryCounts {
  /** Events of this type fired (that the server accepted). */
  events: number;
  /** (event, connection) pairs that must receive it. */
  expected: number;
  /** Pairs received at least once (before the drain ended). */
  delivered: number;
  /** Pairs never received (expected - delivered - late). */
  missing: number;
  /** Extra copies beyond the first, summed over pairs. */
  duplicated: number;
  /** Receipts at a connection that must not get them (a notification for another user): security failure. */
  misrouted: number;
  /** Receipts whose seq is lower than one already seen on the same connection. */
  outOfOrder: number;
  /** Pairs that arrived only after the drain ended (counted apart from delivered). */
  late: number;
  /** Receipts that match no fired event (another client's traffic, or garbage). */
  unmatched: number;
  /**
   * Pairs not owed because the connection was away without resume when the event was fired, and never
   * received: lost while reconnecting (absent in older reports).
   */
  lostInGaps?: number;
}

export type OffenceKind = 'missing' | 'duplicated' | 'misrouted' | 'outOfOrder' | 'late' | 'lostInGap';

/** Cuts, reconnects and resumes of a run with churn or storms (absent when no cut was planned). */
export interface ResilienceResult {
  /** The seed of the choice of connections cut. */
  seed: number;
  /** Connections cut (socket destroyed, no close frame), churn and storms together. */
  cuts: number;
  churnCuts: number;
  stormCuts: number;
  /** Per storm: connections cut, how many came back and how long until the last one was back / resumed. */
  storms: { atMs: number; percent: number; cut: number; back: number; allBackMs: number | null; resumed: number; allResumedMs: number | null }[];
  /** Connections reopened after a loss (cut or not). */
  reconnects: number;
  /** Loss (the cut) to connection_established. */
  reconnectMs: LatencySummary;
  /** Loss (the cut) to the first replayed event, over reconnects that replayed something. */
  resumeMs: LatencySummary;
  /** Events replayed by resumes. */
  replayed: number;
  /** Connections that stopped reconnecting. */
  gaveUp: number;
  /** Closes with 4008 (slow consumer) seen, at any connection. */
  slowConsumerCloses: number;
  /**
   * --slow: connections paused, and what came of them when they read again: closed by the server with
   * 4008, closed otherwise (e.g. 1006: the server cut them without its close frame), cut by --churn or
   * --storm first, not closed at all; `back`: closed by the server and connected again. Absent without --slow.
   */
  slow?: { percent: number; durationMs: number | null; paused: number; closed4008: number; closedOther: number; cut: number; notClosed: number; back: number };
  /** Closes with 4001 (token expired) followed by a reconnect with a fresh token. */
  tokenRefreshes: number;
  /** Connections that were refreshed at least once. */
  tokenRefreshedConnections: number;
  /** Connections still reconnecting when the run ended. */
  reconnectingAtEnd: number;
  /** Events lost while reconnecting (no resume), summed over connections. */
  lostInGaps: number;
  /** Connections that lost at least one event while reconnecting, and the first of them. */
  lostInGapsConnections: number;
  lostInGapsByConnection: { connection: string; count: number }[];
}

/** One offending event, for the report: which event, what went wrong and at which connections. */
export interface Offender {
  kind: OffenceKind;
  type: LoggedType;
  /** The event's key: `bug_report:created:17`, `comment:created:4`, `notification:17`. */
  event: string;
  /** The nonce we put in the request, when there was one. */
  nonce?: string;
  /** How many connections show this offence for this event. */
  count: number;
  /** A few connection labels (`u12#1`) where it happened. */
  connections: string[];
}

export interface DeliveryResult {
  byType: Record<LoggedType, DeliveryCounts>;
  total: DeliveryCounts;
  /** delivered / expected over all types, 0..1 (1 when nothing was expected). */
  ratio: number;
  /** The first offending events, at most 20, missing first. */
  firstOffenders: Offender[];
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  min: number;
}

export interface LatencyResult {
  /** All figures in milliseconds. POST sent (intended send time) -> WebSocket received. */
  broadcast: LatencySummary;
  notification: LatencySummary;
  /** Per broadcast event: last receipt - first receipt. */
  broadcastSpread: LatencySummary;
  /** Upgrade request -> connection_established. */
  connect: LatencySummary;
  /** REST request -> response. */
  rest: LatencySummary;
  /** Intended send time -> actual send (a generator falling behind shows here). */
  sendLag: LatencySummary;
  /** Histogram buckets of broadcast+notification latency for drawing: upper bound (ms) and count. */
  buckets: { le: number; count: number }[];
  /**
   * --slow: receipts at the paused connections, broadcasts and notifications together; `broadcast`,
   * `notification` and `buckets` above are then the other connections' alone. Absent without --slow.
   */
  slow?: LatencySummary;
}

export interface ThroughputResult {
  eventsFired: number;
  /** REST operations answered 2xx. */
  eventsAccepted: number;
  /** REST operations that failed (non-2xx or network). */
  restErrors: number;
  /** REST operations still unanswered when the run ended (the drain timed out on them, or aborted). */
  restUnanswered?: number;
  /** 1-based numbers (firing order) of the first unanswered operations. */
  restUnansweredOps?: number[];
  /** 1-based numbers of the first operations that failed (non-2xx, refused, timed out). */
  restFailedOps?: number[];
  /** Operations answered only after the drain ended (their events could not be checked in time). */
  restAnsweredLate?: number;
  /**
   * Operations the server can't do (update/delete without PATCH/DELETE, e.g. the guide's server), each
   * replaced by a bug report create so the fired count holds.
   */
  skipped: number;
  /** Achieved fire rate, per second. */
  fireRate: number;
  /** Deliveries verified per second, over the fire+drain window. */
  deliveriesPerSec: number;
  /** Total frames received by simulated clients. */
  framesReceived: number;
}

export type CheckStatus = 'pass' | 'fail' | 'unsupported' | 'skipped';

export interface RateLimitCheck {
  status: CheckStatus;
  /** What the server said in connection_established.payload.rate_limit. */
  advertised?: { max: number; windowMs: number };
  /** The limit checked: options.rateLimit, else advertised. */
  checked?: { max: number; windowMs: number };
  /** The limit observed: pongs passed in the first window of a burst. */
  measured?: { max: number; windowMs: number };
  /** One line per sub-check: `passed 10 of 25 (expected 10)`, `per-user across 2 connections`, ... */
  details: { name: string; pass: boolean; detail: string }[];
}

export interface ConnectionsResult {
  /** Target count: users * connsPerUser. */
  target: number;
  /** Connections that got connection_established. */
  opened: number;
  connectErrors: number;
  /** Connections that dropped during the run and were reopened by the client. */
  reconnects: number;
  /** Connections closed by the server during the run. */
  dropped: number;
  /** Distinct source addresses used. */
  localAddresses: number;
  /** The first few connect error messages. */
  errorSamples: string[];
}

export type CapabilityName = 'seq' | 'cursor' | 'resume' | 'restAuth' | 'patch' | 'delete' | 'rateLimitAdvertised';
export type CapabilityStatus = 'supported' | 'unsupported' | 'unknown';

export interface CapabilityFinding {
  status: CapabilityStatus;
  detail: string;
}

export interface GeneratorThreadHealth {
  /** 'main' or 'worker-N'. */
  thread: string;
  /** Event-loop utilisation of this thread over the run, percent of one core. */
  cpuPercent: number;
  eventLoopLagMs: { p50: number; p99: number; max: number };
}

export interface GeneratorResult {
  /** Process CPU over the run, percent of one core (can exceed 100 with workers). */
  cpuPercent: number;
  /** Worst over main thread and workers, ms beyond the monitor's 10 ms sampling period (0 = idle loop). */
  eventLoopLagMs: { p50: number; p99: number; max: number };
  threads: GeneratorThreadHealth[];
  /** Lag p99 passed saturationLagMs: the figures are the generator's, not the server's; the run is invalid. */
  saturated: boolean;
  saturationLagMs: number;
}

export type LoadPhase = 'starting' | 'connect' | 'fire' | 'drain' | 'rate-limit' | 'closing' | 'done';

export interface PhaseTimings {
  /** Epoch ms. */
  startedAt: number;
  /** Durations in ms. */
  connectMs: number;
  fireMs: number;
  drainMs: number;
  rateLimitMs: number;
  totalMs: number;
}

/**
 * One second of the run. `t` counts seconds since the fire phase started (negative: the connect phase);
 * a timeline steps by one with no gaps, and each count summed over it is the run's total.
 */
export interface TimelineEntry {
  t: number;
  /** REST operations sent in this second. */
  fired: number;
  /** REST operations answered 2xx in this second. */
  accepted: number;
  /**
   * First receipts at connections owed them when they came, in this second (before the drain ended):
   * the receipts the latency histograms hold. Sums to delivery.total.delivered unless a POST failed or
   * a connection dropped without resume (the ledger then takes back receipts the timeline keeps).
   */
  delivered: number;
  /** Push latency of this second's deliveries, ms; null exactly when there were none. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Connections open at the end of this second. */
  connections: number;
  /** REST errors, connections that failed to open and connections dropped, in this second. */
  errors: number;
}

export const LOAD_RESULT_SCHEMA_VERSION = 1;

export interface LoadTestResult {
  schemaVersion: typeof LOAD_RESULT_SCHEMA_VERSION;
  /** The targets actually used (the started server's URL when none was given). */
  targets: string[];
  /** Whether the reference server was started for this run. */
  startedServer: boolean;
  /** Stopped by the signal: figures cover what ran. */
  aborted: boolean;
  /** Drain finished with everything expected arrived (false: timed out). */
  drainComplete: boolean;
  /** Deliveries still owed when the drain ended (0 when it completed). */
  drainOwed?: number;
  /** The resolved options, `secret` replaced by '<redacted>'. */
  options: LoadTestOptions;
  connections: ConnectionsResult;
  delivery: DeliveryResult;
  latency: LatencyResult;
  throughput: ThroughputResult;
  rateLimit: RateLimitCheck;
  capabilities: Record<CapabilityName, CapabilityFinding>;
  generator: GeneratorResult;
  timings: PhaseTimings;
  /** Harness-level errors that did not stop the run (the first few). */
  errors: string[];
  /** The run second by second, from the connect phase to the end of the drain (absent in older reports). */
  timeline?: TimelineEntry[];
  /** A sharded run: one entry per shard, in shard order (the figures above are the merged run's). */
  shards?: ShardEntry[];
  /** A sharded run: how events fired on one shard were owed on another. */
  distribution?: DistributionInfo;
  /** Cuts, reconnects, resumes and what was lost while reconnecting (absent when nothing was cut). */
  resilience?: ResilienceResult;
}

/** Progress events, emitted by runLoadTest through onProgress (throttled by progressIntervalMs). */
export type LoadProgressEvent =
  | { kind: 'phase'; phase: LoadPhase; at: number }
  | { kind: 'connect'; opened: number; target: number; errors: number }
  /** Connections cut so far and those reconnecting now (runs with churn or storms). */
  | { kind: 'churn'; cuts: number; reconnecting: number; reconnects: number; /** --slow: connections not reading now. */ paused?: number }
  | { kind: 'fire'; fired: number; target: number; accepted: number; restErrors: number }
  | {
      kind: 'delivery';
      delivered: number;
      expected: number;
      duplicated: number;
      misrouted: number;
      /** Live latency, ms, over all receipts so far (broadcasts and notifications). */
      latency: { p50: number; p90: number; p99: number; max: number; count: number };
    }
  /** Once a second: deliveries per second and their latency over the last window. */
  | { kind: 'second'; deliveriesPerSec: number; p50Ms: number | null; p99Ms: number | null }
  | { kind: 'generator'; eventLoopLagMs: { p50: number; p99: number; max: number }; cpuPercent: number }
  | { kind: 'error'; message: string }
  | { kind: 'server'; url: string }
  /**
   * A sharded run: the whole run's totals, read from the coordinator about once a second (this shard's
   * own figures are the events above). Each shard's figures are as of its last report there.
   */
  | {
      kind: 'run';
      shard: number;
      shards: number;
      /** Shards whose connections are all open (arrived at the connected barrier). */
      shardsConnected: number;
      /** Shards that fired everything (their end mark is in the run's stream). */
      shardsDone: number;
      opened: number;
      /** REST operations fired by every shard, and the run's planned total. */
      fired: number;
      target: number;
      delivered: number;
      expected: number;
    };

export interface RunLoadTestContext {
  signal?: AbortSignal;
  /** Run as shard K of N of one run coordinated through Redis (see docs/sharding.md). */
  distributed?: import('./distributed.ts').DistributedOptions;
  onProgress?: (event: LoadProgressEvent) => void;
}

/** One shard of a sharded run, as the merged report lists it. */
export interface ShardEntry {
  shard: number;
  host: string;
  /** Connections this shard opened. */
  connections: number;
  /** REST operations this shard fired. */
  eventsFired: number;
  /** Deliveries at this shard's connections (of events fired by any shard). */
  delivered: number;
  eventLoopLagP99Ms: number;
  cpuPercent: number;
  saturated: boolean;
  /** The worst delay of an entry of the run's event stream reaching this shard (on Redis's clock). */
  maxStreamLagMs: number;
  /**
   * A run with churn or storms: this shard's cuts and what came of them (the report's `resilience` is
   * their sum over the shards; lostInGaps at this shard's connections).
   */
  resilience?: { cuts: number; churnCuts: number; stormCuts: number; stormCutsEach: number[]; reconnects: number; replayed: number; gaveUp: number; lostInGaps: number };
}

export interface DistributionInfo {
  shards: number;
  /**
   * Which rule decided what a connection owed: 'seq-log-order' (the server has seq: from the order of
   * receipts, no clock compared) or 'remote-arrival-margin' (no seq: arrival times through Redis, back-dated
   * by `marginMs`).
   */
  eligibility: 'seq-log-order' | 'remote-arrival-margin';
  marginMs: number;
  maxStreamLagMs: number;
  rule: string;
}
