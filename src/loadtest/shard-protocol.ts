// Messages between runLoadTest (main thread) and a shard of simulated connections, which runs either
// in the main thread or in a worker thread. Compact on purpose: summaries, never a message per receipt.
// Erasable TypeScript only (no enums, no parameter properties): workers load it with Node's type stripping.
import type { TimelinePart } from './timeline.ts';

import type { CutPlan } from './churn.ts';
import type { LedgerSummary } from './ledger.ts';

/** Event kinds as small integers, indexing per-type arrays. */
export { T_BUG_REPORT, T_COMMENT, T_NOTIFICATION, LEDGER_TYPES as TYPE_NAMES } from './ledger.ts';

export interface ShardConnSpec {
  /** Label for reports, e.g. `u12#1`. */
  label: string;
  userId: string;
  /** Position among all connections of the run: orders the connections an offender names. */
  ordinal: number;
  /** ws://host:port/ws (no query). */
  wsUrl: string;
  token: string;
  /** Source address; '' = the OS's choice (IPv6 or named targets). */
  localAddress: string;
}

export interface ShardInit {
  shardId: number;
  conns: ShardConnSpec[];
  /** Connections per second for this shard. */
  connectRate: number;
  connectTimeoutMs: number;
  progressIntervalMs: number;
  /** Marker that opens and closes a nonce in titles and bodies, e.g. `~`. */
  nonceMark: string;
  /** Prefix of this run's nonces, so events of other runs never match. */
  runTag: string;
  /** Connections to cut during the fire phase (churn, storms), and the run's seed for choosing them. */
  cuts?: { plan: CutPlan; seed: number };
  /** --slow: connections that stop reading at the start of the fire phase, and the run's seed for choosing them. */
  slow?: { percent: number; durationMs?: number; seed: number };
  /** Mint each connection's token at every (re)connect with this lifetime, instead of the spec's token. */
  tokens?: { secret: string; ttlSeconds: number };
  /** What a connection owes in the final figures: by times (R1, default) or by log order (R10, 'seq'). */
  eligibility?: 'time' | 'seq';
}

export type ToShard =
  | { t: 'connect' }
  /** An event about to be fired: registered before the POST is sent, so no receipt can beat it. */
  | { t: 'event'; idx: number; key: string; type: number; target: string | null; sentAt: number; registeredAt: number }
  /** The POST's outcome. `alias` is the (type, action, id) key for servers that drop our nonce. */
  | { t: 'ack'; idx: number; ok: boolean; respondedAt: number; alias?: string }
  | { t: 'drainEnd'; at: number }
  /** timeline hook: second 0 of the timeline starts here (the fire phase's start). */
  | { t: 'timelineOrigin'; at: number }
  /** Answered with a progress carrying `sync: n`: everything posted before it has been applied. */
  | { t: 'sync'; n: number }
  | { t: 'finish' };

export interface ShardProgress {
  /** The last `sync` applied before this progress was taken. */
  sync: number;
  opened: number;
  connectErrors: number;
  /** Attempts settled (opened or failed). */
  settled: number;
  reconnects: number;
  dropped: number;
  /** Eligible (event, connection) pairs of acknowledged events. */
  expected: number;
  /** Pairs received before the drain ended. */
  delivered: number;
  duplicated: number;
  misrouted: number;
  frames: number;
  /** All-receipt latency histogram so far, encoded. */
  latency: string;
  lagMs: { p50: number; p99: number; max: number };
  /** Event-loop utilisation of this thread since start, 0..1. */
  elu: number;
  /** Connections cut so far, and those reconnecting now (lost, not back yet). */
  cuts?: number;
  reconnecting?: number;
  /** --slow: connections not reading now. */
  paused?: number;
}

/** A shard's record of cuts, reconnects and resumes (runs with churn or storms). */
export interface ShardResilience {
  churnCuts: number;
  stormCuts: number;
  /** Per storm of the plan: cut, back, resumed, and the longest cut-to-back / cut-to-resumed (ms). */
  storms: { cut: number; back: number; resumed: number; maxBackMs: number; maxResumedMs: number }[];
  /** Encoded histograms: loss to connection_established, loss to first replayed event. */
  reconnect: string;
  resume: string;
  replayed: number;
  gaveUp: number;
  slowConsumerCloses: number;
  tokenRefreshes: number;
  tokenRefreshedConnections: number;
  reconnectingAtEnd: number;
  /** --slow: connections paused, then closed with 4008 / otherwise once reading again, and closed then back. */
  slow?: { paused: number; closed4008: number; closedOther: number; back: number; cut: number; latency: string };
}

export interface ShardFinal extends ShardProgress {
  /** What this shard's connections were owed and got. Merged with mergeLedgerSummaries. */
  ledger: LedgerSummary;
  broadcast: string;
  notification: string;
  connect: string;
  errorSamples: string[];
  localAddresses: string[];
  /** Whether any connection saw a seq. */
  sawSeq: boolean;
  /** timeline hook: this shard's per-second tallies. */
  timeline: TimelinePart;
  resilience?: ShardResilience;
}

export type FromShard =
  | { t: 'progress'; p: ShardProgress }
  | { t: 'connectDone'; p: ShardProgress }
  | { t: 'final'; f: ShardFinal }
  /** The shard crashed: the run cannot be judged. */
  | { t: 'fatal'; message: string; stack?: string };
