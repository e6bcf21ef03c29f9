// The fire phase: REST operations at an open arrival rate. Each send is scheduled by the clock from the
// phase start (intended time = start + i / rate) and never waits for an earlier answer, so a slow server
// cannot slow the sender (no coordinated omission); latency is measured from the intended time.
// Every event an operation must cause is registered with the shards before the request leaves.
import { createRestClient, type RestClient } from '../client/index.ts';
import { COMMENT_BODY_MAX, mintTokenSync, type BugReport, type Comment } from '../protocol/index.ts';
import { createHistogram, recordMs, type Histogram } from './histogram.ts';
import { now } from './clock.ts';
import { createRandom } from './random.ts';
import { T_BUG_REPORT, T_COMMENT, T_NOTIFICATION } from './shard-protocol.ts';
import type { LoadMix, MixOperation } from './types.ts';

/** One event the ledger expects, as the main thread knows it. */
export interface FiredEvent {
  idx: number;
  type: number;
  /** `bug_report:created`, `comment:created`, `notification`... */
  what: string;
  nonce: string;
  /** Resource id, once the server answered. */
  id?: number;
  target: string | null;
  sentAt: number;
  ok: boolean;
}

interface Bug {
  id: number;
  titleNonce: string;
  assignee: string | null;
  /** A notification carrying the current title was already caused (another one would be ambiguous). */
  notified: boolean;
}

export interface FireSink {
  register(ev: { idx: number; key: string; type: number; target: string | null; sentAt: number; registeredAt: number }): void;
  ack(ev: { idx: number; ok: boolean; respondedAt: number; alias?: string }): void;
}

export interface FireOptions {
  urls: string[];
  secret: string;
  /** Load users' ids. */
  userIds: string[];
  total: number;
  rate: number;
  mix: LoadMix;
  assignRatio: number;
  patch: boolean;
  delete: boolean;
  nonceMark: string;
  runTag: string;
  /** Pad bug reports' descriptions by about this many bytes, comments' bodies by as much as COMMENT_BODY_MAX leaves. @default 0 */
  eventBytes?: number;
  sink: FireSink;
  signal?: AbortSignal;
  onFired?: () => void;
  /** timeline hook: an operation was answered (ok: 2xx), at `at`. Abandoned requests are not. */
  onAnswered?: (ok: boolean, at: number) => void;
  /** The first few REST failures, as they happen. */
  onError?: (message: string) => void;
}


export class Firer {
  readonly events: FiredEvent[] = [];
  readonly rest: Histogram = createHistogram();
  readonly sendLag: Histogram = createHistogram();
  fired = 0;
  accepted = 0;
  restErrors = 0;
  skipped = 0;
  readonly errorSamples: string[] = [];
  /** 1-based numbers of the operations that failed, in the order they failed (the first 100). */
  readonly failedOps: number[] = [];
  /** Operations answered (either way) after markDrainEnd. */
  answeredAfterDrain = 0;
  startedAt = 0;
  endedAt = 0;
  private readonly o: FireOptions;
  private readonly clients: RestClient[];
  private readonly tokens = new Map<string, string>();
  /** --event-bytes: made once, appended after the nonce's closing mark (matching reads up to it). */
  private readonly padDescription: string;
  private readonly padComment: string;
  private readonly random = createRandom(0x5eed);
  /** Bug reports no operation is working on: taken out while one is in flight, so ops never race. */
  private readonly idleBugs: Bug[] = [];
  private readonly weights: [MixOperation, number][];
  private readonly weightSum: number;
  private inflight = 0;
  /** Operation numbers (1-based) not answered yet. */
  private readonly unanswered = new Set<number>();
  private drainEnded = false;
  private nonceSeq = 0;
  private idleWaiters: (() => void)[] = [];
  /** Abandons requests still unanswered at close: a server that never answers must not hold the exit. */
  private readonly abandon = new AbortController();

  constructor(o: FireOptions) {
    this.o = o;
    this.clients = o.urls.map((url) => createRestClient({ url, connections: 64 }));
    this.weights = (Object.entries(o.mix) as [MixOperation, number][]).filter(([, w]) => w > 0);
    this.weightSum = this.weights.reduce((s, [, w]) => s + w, 0);
    const pad = o.eventBytes ?? 0;
    this.padDescription = pad > 0 ? ` ${'x'.repeat(pad)}` : '';
    // the body holds `comment <nonce>` (well under 100 bytes) and the pad
    this.padComment = pad > 0 ? ` ${'x'.repeat(Math.min(pad, COMMENT_BODY_MAX - 100))}` : '';
  }

  /** Fires all operations on schedule; resolves when the last one has been sent (not answered). */
  run(): Promise<void> {
    const { total, rate, signal } = this.o;
    const intervalMs = 1000 / rate;
    this.startedAt = now();
    return new Promise<void>((resolve) => {
      let i = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.endedAt = now();
        resolve();
      };
      const tick = (): void => {
        const t = now();
        // every send that is due goes now, however late: the schedule never waits on answers
        while (i < total && this.startedAt + i * intervalMs <= t) {
          this.fireOne(i, this.startedAt + i * intervalMs);
          i++;
        }
        if (i >= total || signal?.aborted) return finish();
        const next = this.startedAt + i * intervalMs;
        timer = setTimeout(tick, Math.max(0, Math.min(next - now(), 1000)));
      };
      if (signal?.aborted) return finish();
      signal?.addEventListener('abort', finish, { once: true });
      tick();
    });
  }

  inflightCount(): number {
    return this.inflight;
  }

  /** The first `max` operations still unanswered, by number (1-based, firing order). */
  unansweredOps(max: number): number[] {
    return [...this.unanswered].sort((a, b) => a - b).slice(0, max);
  }

  /** The drain is over: answers from now on come too late to be checked. */
  markDrainEnd(): void {
    this.drainEnded = true;
  }

  /** Resolves once every request has been answered (or failed). */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    // the pool's close waits for requests in flight (up to the headers timeout): abandon them first
    this.abandon.abort();
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
  }

  private token(userId: string): string {
    let t = this.tokens.get(userId);
    if (!t) {
      t = mintTokenSync({ userId, secret: this.o.secret, ttlSeconds: 24 * 3600 });
      this.tokens.set(userId, t);
    }
    return t;
  }

  private opts(userId: string): { token: string; signal: AbortSignal } {
    return { token: this.token(userId), signal: this.abandon.signal };
  }

  private pickUser(except?: string | null): string {
    const ids = this.o.userIds;
    if (ids.length === 1) return ids[0]!;
    for (;;) {
      const u = ids[Math.floor(this.random() * ids.length)]!;
      if (u !== except) return u;
    }
  }

  private pickOp(): MixOperation {
    let r = this.random() * this.weightSum;
    for (const [op, w] of this.weights) {
      r -= w;
      if (r < 0) return op;
    }
    return this.weights[this.weights.length - 1]![0];
  }

  private pickBug(): Bug | undefined {
    const n = this.idleBugs.length;
    if (n === 0) return undefined;
    const i = Math.floor(this.random() * n);
    const bug = this.idleBugs[i]!;
    this.idleBugs[i] = this.idleBugs[n - 1]!;
    this.idleBugs.pop();
    return bug;
  }

  private nonce(): string {
    return `${this.o.runTag}.${++this.nonceSeq}`;
  }

  private marked(nonce: string): string {
    return `${this.o.nonceMark}${nonce}${this.o.nonceMark}`;
  }

  private expect(type: number, what: string, nonce: string, target: string | null, sentAt: number, registeredAt: number): FiredEvent {
    const ev: FiredEvent = { idx: this.events.length, type, what, nonce, target, sentAt, ok: false };
    this.events.push(ev);
    const key = type === T_NOTIFICATION ? `notification:${nonce}` : `${what}:${nonce}`;
    this.o.sink.register({ idx: ev.idx, key, type, target, sentAt, registeredAt });
    return ev;
  }

  private fireOne(i: number, intended: number): void {
    this.fired++;
    let op = this.pickOp();
    if ((op === 'update' && !this.o.patch) || (op === 'delete' && !this.o.delete)) {
      this.skipped++;
      op = 'bug_report';
    }
    const bug = op === 'bug_report' ? undefined : this.pickBug();
    if (op !== 'bug_report' && !bug) op = 'bug_report';
    const rest = this.clients[i % this.clients.length]!;
    const registeredAt = now();
    let request: () => Promise<unknown>;
    let onOk: (res: unknown) => void;
    const evs: FiredEvent[] = [];
    const aliases: (string | undefined)[] = [];
    if (op === 'bug_report' || !bug) {
      const nonce = this.nonce();
      const reporter = this.pickUser();
      const assignee = this.random() < this.o.assignRatio ? this.pickUser() : null;
      evs.push(this.expect(T_BUG_REPORT, 'bug_report:created', nonce, null, intended, registeredAt));
      if (assignee !== null) evs.push(this.expect(T_NOTIFICATION, 'notification', nonce, assignee, intended, registeredAt));
      const title = `load ${this.marked(nonce)}`;
      request = () =>
        rest.createBugReport({ title, description: `fired by bugzapp load ${this.marked(nonce)}${this.padDescription}`, severity: 'medium', assignee_id: assignee }, this.opts(reporter));
      onOk = (res) => {
        const b = res as BugReport;
        for (const ev of evs) ev.id = b.id;
        aliases[0] = `bug_report:created:#${b.id}`;
        this.idleBugs.push({ id: b.id, titleNonce: nonce, assignee, notified: assignee !== null });
      };
    } else if (op === 'comment') {
      const nonce = this.nonce();
      // a second notification with the same title would be ambiguous: then the assignee comments
      const notify = bug.assignee !== null && !bug.notified && this.o.userIds.length > 1;
      const author = notify ? this.pickUser(bug.assignee) : (bug.assignee ?? this.pickUser());
      evs.push(this.expect(T_COMMENT, 'comment:created', nonce, null, intended, registeredAt));
      if (notify) {
        const n = this.expect(T_NOTIFICATION, 'notification', bug.titleNonce, bug.assignee, intended, registeredAt);
        n.id = bug.id;
        evs.push(n);
        bug.notified = true;
      }
      request = () => rest.createComment(bug.id, { body: `comment ${this.marked(nonce)}${this.padComment}` }, this.opts(author));
      onOk = (res) => {
        const c = res as Comment;
        evs[0]!.id = c.id;
        aliases[0] = `comment:created:#${c.id}`;
      };
    } else if (op === 'update') {
      const nonce = this.nonce();
      const reassign = this.o.userIds.length > 1 && this.random() < this.o.assignRatio;
      const assignee = reassign ? this.pickUser(bug.assignee) : bug.assignee;
      evs.push(this.expect(T_BUG_REPORT, 'bug_report:updated', nonce, null, intended, registeredAt));
      if (reassign) evs.push(this.expect(T_NOTIFICATION, 'notification', nonce, assignee, intended, registeredAt));
      bug.titleNonce = nonce;
      bug.assignee = assignee;
      bug.notified = reassign;
      for (const ev of evs) ev.id = bug.id;
      request = () =>
        rest.updateBugReport(bug.id, { title: `load ${this.marked(nonce)}`, ...(reassign ? { assignee_id: assignee } : {}) }, this.opts(this.pickUser()));
      onOk = () => undefined;
    } else {
      evs.push(this.expect(T_BUG_REPORT, 'bug_report:deleted', bug.titleNonce, null, intended, registeredAt));
      evs[0]!.id = bug.id;
      request = () => rest.deleteBugReport(bug.id, this.opts(this.pickUser()));
      onOk = () => undefined;
    }
    const sentAt = now();
    recordMs(this.sendLag, sentAt - intended);
    this.inflight++;
    const opNo = i + 1;
    this.unanswered.add(opNo);
    this.o.onFired?.();
    request().then(
      (res) => {
        this.answered(opNo);
        const respondedAt = now();
        recordMs(this.rest, respondedAt - sentAt);
        this.accepted++;
        this.o.onAnswered?.(true, respondedAt); // timeline hook
        onOk(res);
        if (bug && op !== 'delete') this.idleBugs.push(bug);
        evs.forEach((ev, k) => {
          ev.ok = true;
          const alias = aliases[k];
          this.o.sink.ack({ idx: ev.idx, ok: true, respondedAt, ...(alias !== undefined ? { alias } : {}) });
        });
        this.settle();
      },
      (err: unknown) => {
        // abandoned at close: the run's figures are already taken
        if (this.abandon.signal.aborted) return this.settle();
        this.answered(opNo);
        if (this.failedOps.length < 100) this.failedOps.push(opNo);
        const respondedAt = now();
        recordMs(this.rest, respondedAt - sentAt);
        this.restErrors++;
        this.o.onAnswered?.(false, respondedAt); // timeline hook
        if (this.errorSamples.length < 5) {
          const message = `${op}: ${err instanceof Error ? err.message : String(err)}`;
          this.errorSamples.push(message);
          this.o.onError?.(message);
        }
        // an operation that failed causes nothing the ledger could demand. The bug stays out of the
        // pool: its title, assignee and notified state were set for a change the server may or may not
        // have made (a 500, a timeout), and a later delete or comment would expect the wrong event
        for (const ev of evs) this.o.sink.ack({ idx: ev.idx, ok: false, respondedAt });
        this.settle();
      },
    );
  }

  private answered(opNo: number): void {
    this.unanswered.delete(opNo);
    if (this.drainEnded) this.answeredAfterDrain++;
  }

  private settle(): void {
    this.inflight--;
    if (this.inflight === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }
}
