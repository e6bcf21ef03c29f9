// The seams between the server and what backs it: the event log with its fan-out, the REST store and
// the rate limiter. The in-memory implementations are the embedded default; the Redis ones
// (`bugzapp serve --redis`) implement the same interfaces, so nothing else changes between the two.
import type { LoggedEvent, LoggedEventType } from '../protocol/index.ts';
import type { BugReport, BugReportCreate, BugReportPatch, Comment } from '../protocol/index.ts';

/** An event as the log holds it: its opaque `seq`, who it is for, and its frame encoded exactly once. */
export interface PublishedEvent {
  /** Opaque, ordered per deployment: compare with `EventEngine.compareSeq`, never as strings. */
  seq: string;
  type: LoggedEventType;
  /** `null`: a broadcast to every connection. A string: every connection of that one user. */
  target: string | null;
  /** The encoded message, `seq` included; the same bytes go to every recipient. */
  frame: Buffer;
}

/** A log event before the log gives it a `seq`. */
export type UnsequencedEvent = LoggedEvent extends infer E ? (E extends LoggedEvent ? Omit<E, 'seq'> : never) : never;

export type ReadSinceResult =
  /** Every event after `since` addressed to the user, in log order (may be empty). */
  | { kind: 'ok'; events: PublishedEvent[] }
  /** `since` is older than the log holds, or from another epoch (a flushed or replaced log). */
  | { kind: 'window_exceeded'; oldest: string };

/** Where live delivery lost track: the last position delivered and the first one after the gap. */
export interface DeliveryGap {
  from: string;
  to: string;
  /** Short, for the close frame's reason (at most 123 bytes). */
  reason: string;
}

export interface EventEngine {
  /**
   * Append an event to the log. Resolves once the event is durable in the log (a POST is answered only
   * then); rejects with ERR_BACKEND_UNAVAILABLE when the log cannot be written, with nothing half done.
   * Live delivery happens through the `onEvent` listeners, on every instance, in log order.
   */
  publish(event: UnsequencedEvent, target: string | null): Promise<PublishedEvent>;
  /** Register the fan-out listener. Called synchronously for each event in log order. */
  onEvent(listener: (event: PublishedEvent) => void): void;
  /**
   * Optional: called when this instance cannot vouch that live delivery gave its connections every
   * event (the Redis reader fell behind the trim, or the log was replaced or flushed under it); the
   * server closes its connections (4009) so that their clients resume and learn of the gap
   * ("Resume window exceeded") instead of missing events silently. Called before any event after
   * the gap is delivered.
   */
  onGap?(listener: (gap: DeliveryGap) => void): void;
  /**
   * Optional: resolves true once this instance has delivered (to its `onEvent` listeners) every event
   * the log held when it was called, or false after `timeoutMs`. Shutdown calls it before sending
   * 1001, so that every event answered 2xx anywhere reaches this instance's sockets first. An engine
   * that delivers synchronously on publish has nothing to wait for and may omit it.
   */
  drain?(timeoutMs: number): Promise<boolean>;
  /** Events after `since` for `userId` (broadcasts and that user's notifications), in log order. */
  readSince(since: string, userId: string): Promise<ReadSinceResult>;
  /** The `seq` of the newest event; for an empty log, a `seq` that sorts before every event. */
  cursor(): Promise<string>;
  /** Negative, zero or positive, as `a` comes before, equals or comes after `b`. */
  compareSeq(a: string, b: string): number;
  /** Whether a `since` value has this engine's syntax at all (a malformed one is answered as too old). */
  isValidSeq(seq: string): boolean;
  /** True when every backing service is reachable (`/readyz`). */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A change a REST request made to the store, as `Store.revert` undoes it. Each carries the objects the
 * store method returned, unchanged.
 */
export type StoreChange =
  | { kind: 'bug_report_created'; bug: BugReport }
  | { kind: 'bug_report_updated'; before: BugReport; after: BugReport }
  | { kind: 'bug_report_deleted'; bug: BugReport }
  | { kind: 'comment_created'; comment: Comment };

export interface Store {
  createBugReport(input: BugReportCreate, reporterId: string): Promise<BugReport>;
  listBugReports(): Promise<BugReport[]>;
  getBugReport(id: number): Promise<BugReport | undefined>;
  /** Returns the previous and the new state, or undefined for an unknown id. */
  updateBugReport(id: number, patch: BugReportPatch): Promise<{ before: BugReport; after: BugReport } | undefined>;
  /** Returns the last state, or undefined for an unknown id. */
  deleteBugReport(id: number): Promise<BugReport | undefined>;
  /** Undefined when the bug report does not exist. */
  createComment(bugReportId: number, body: string, authorId: string): Promise<Comment | undefined>;
  /**
   * Undo `change` because its event could not be published, so that a request answered 503 has
   * changed nothing. Only a record still exactly as the change left it is touched (a later request's
   * change is never clobbered). Resolves true when the change was undone. Optional: without it the
   * change stays in place, unpublished, and the server logs and counts it.
   */
  revert?(change: StoreChange): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A backend that writes a REST change and the events it causes (the broadcast and its notification)
 * in one atomic step: both or neither, so events are published in the order of the writes on any
 * number of instances, and nothing is ever reverted. A failure rejects with ERR_BACKEND_UNAVAILABLE
 * whose message says whether the change is known not to have happened or its outcome is unknown.
 */
export interface AtomicChanges {
  createBugReport(input: BugReportCreate, reporterId: string): Promise<BugReport>;
  /** Undefined for an unknown id. */
  updateBugReport(id: number, patch: BugReportPatch): Promise<{ before: BugReport; after: BugReport } | undefined>;
  /** The last state, or undefined for an unknown id. */
  deleteBugReport(id: number): Promise<BugReport | undefined>;
  /** Undefined when the bug report does not exist. */
  createComment(bugReportId: number, body: string, authorId: string): Promise<Comment | undefined>;
}

export interface RateLimiter {
  /** Count one message of `userId` at `nowMs`; true when it is within the limit (sliding window). */
  hit(userId: string, nowMs: number): boolean | Promise<boolean>;
  readonly max: number;
  readonly windowMs: number;
  close(): Promise<void>;
}

export interface Backends {
  engine: EventEngine;
  store: Store;
  rateLimiter: RateLimiter;
  /**
   * Optional: changes written with their events in one step (the Redis backends). Without it the
   * server writes the store, then publishes (and reverts the write if publishing fails), which is
   * ordered only within one process.
   */
  changes?: AtomicChanges;
  /** A name for logs and metrics: 'memory' or 'redis'. */
  kind: string;
}
