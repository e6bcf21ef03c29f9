// One shard of simulated connections and its half of the delivery ledger: receipts are counted per
// (event, connection) in typed arrays, latencies go into local HDR histograms, and only summaries leave.
// Runs in the main thread or in a worker (shard-worker.ts). The simulated clients are BugzappClient.
import { BugzappClient } from '../client/client.ts';
import type { LoggedEvent } from '../protocol/index.ts';
import { performance } from 'node:perf_hooks';
import { createLagMonitor, lagSummary, type LagMonitor } from './health.ts';
import { createHistogram, encodeHistogram, recordMs, type Histogram } from './histogram.ts';
import { compareSeq } from './seq-order.ts';
import { TimelineRecorder } from './timeline.ts';
import {
  PER_EVENT_FIELDS,
  T_BUG_REPORT,
  T_COMMENT,
  T_NOTIFICATION,
  type FromShard,
  type ShardFinal,
  type ShardInit,
  type ShardOffender,
  type ShardProgress,
  type ToShard,
} from './shard-protocol.ts';

/** Absolute time in ms that compares across threads. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

interface LedgerEvent {
  type: number;
  target: string | null;
  sentAt: number;
  registeredAt: number;
  acked: boolean;
  ok: boolean;
  respondedAt: number;
  /** Receipts per local connection, saturating at 255. */
  counts: Uint8Array;
  /** Connections whose first receipt came after the drain ended. */
  late: Uint8Array | undefined;
  firstMin: number;
  firstMax: number;
  expectedLive: number;
  /** First receipts at connections eligible when they came (before the drain ended). */
  deliveredLive: number;
}

interface PendingReceipt {
  c: number;
  at: number;
  key: string;
  done: boolean;
}

const MAX_PENDING = 200_000;
const MAX_SAMPLES = 3;
const MAX_OFFENDING_EVENTS = 100;

export class Shard {
  private readonly init: ShardInit;
  private readonly send: (msg: FromShard) => void;
  private readonly n: number;
  private readonly clients: (BugzappClient | undefined)[];
  private readonly startedAt: Float64Array;
  private readonly establishedAt: Float64Array;
  /** When a connection that never got connection_established was given up (0 = not failed). */
  private readonly closedAt: Float64Array;
  /**
   * Per connection that lost events after it was established (no resume), the gaps as
   * [closed, reopened, closed, reopened...]; reopened 0 = still closed. Events fired in a gap are not owed.
   */
  private readonly gaps: (number[] | undefined)[];
  /** When a connection was lost (reconnecting), 0 while it is up; kept for a resume the server refuses. */
  private readonly lostAt: Float64Array;
  private readonly lastLostAt: Float64Array;
  private readonly lastSeq: (string | undefined)[];
  private readonly closing: Uint8Array;
  private readonly events: LedgerEvent[] = [];
  private readonly keyToIdx = new Map<string, number>();
  /** Opening mark and run tag: where a nonce of this run starts. */
  private readonly nonceStart: string;
  private lastNonce: string | undefined;
  private lastType = -1;
  private lastAction = '';
  private lastIdx = 0;
  private lastKey = '';
  /** Receipts whose key is not known yet, listed under their key and their (type, action, id) alias. */
  private readonly pending = new Map<string, PendingReceipt[]>();
  private pendingCount = 0;
  private readonly hBroadcast: Histogram = createHistogram();
  private readonly hNotification: Histogram = createHistogram();
  private readonly hConnect: Histogram = createHistogram();
  private readonly outOfOrder = [0, 0, 0];
  private readonly unmatched = [0, 0, 0];
  private readonly oooSamples: ShardOffender[] = [];
  private readonly errorSamples: string[] = [];
  private readonly lag: LagMonitor;
  private readonly eluStart = performance.eventLoopUtilization();
  private opened = 0;
  private connectErrors = 0;
  private settled = 0;
  private reconnects = 0;
  private dropped = 0;
  private duplicated = 0;
  private misrouted = 0;
  private frames = 0;
  private sawSeq = false;
  private drainEndedAt = 0;
  private finished = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private connectDeadline: NodeJS.Timeout | undefined;
  private connectDoneSent = false;
  private syncSeen = 0;
  private readonly timeline: TimelineRecorder; // timeline hook

  constructor(init: ShardInit, send: (msg: FromShard) => void) {
    this.init = init;
    this.send = send;
    this.nonceStart = init.nonceMark + init.runTag;
    this.n = init.conns.length;
    this.clients = new Array<BugzappClient | undefined>(this.n);
    this.startedAt = new Float64Array(this.n);
    this.establishedAt = new Float64Array(this.n);
    this.closedAt = new Float64Array(this.n);
    this.gaps = new Array<number[] | undefined>(this.n);
    this.lostAt = new Float64Array(this.n);
    this.lastLostAt = new Float64Array(this.n);
    this.lastSeq = new Array<string | undefined>(this.n);
    this.closing = new Uint8Array(this.n);
    this.timeline = new TimelineRecorder(this.n); // timeline hook
    this.lag = createLagMonitor();
    this.progressTimer = setInterval(() => this.send({ t: 'progress', p: this.progress() }), init.progressIntervalMs);
    this.progressTimer.unref?.();
  }

  handle(msg: ToShard): void {
    switch (msg.t) {
      case 'connect':
        this.lag.reset();
        this.startConnecting();
        break;
      case 'event':
        this.register(msg.idx, msg.key, msg.type, msg.target, msg.sentAt, msg.registeredAt);
        break;
      case 'ack':
        this.ack(msg.idx, msg.ok, msg.respondedAt, msg.alias);
        break;
      case 'drainEnd':
        this.drainEndedAt = msg.at;
        break;
      case 'timelineOrigin': // timeline hook
        this.timeline.setOrigin(msg.at);
        break;
      case 'sync':
        this.syncSeen = msg.n;
        this.send({ t: 'progress', p: this.progress() });
        break;
      case 'finish':
        void this.finish();
        break;
    }
  }

  // ---- connections ---------------------------------------------------------------------------

  private startConnecting(): void {
    const begin = now();
    let next = 0;
    const perMs = this.init.connectRate / 1000;
    const tick = (): void => {
      const due = Math.min(this.n, Math.floor((now() - begin) * perMs) + 1);
      // bounded burst: never more than 256 handshakes in flight from one shard
      while (next < due && next - this.settled < 256) this.open(next++);
      if (next >= this.n) {
        clearInterval(this.connectTimer);
        this.connectTimer = undefined;
      }
    };
    this.connectTimer = setInterval(tick, 5);
    tick();
    this.connectDeadline = setTimeout(() => {
      // handshakes still open at the deadline are failures
      for (let c = 0; c < this.n; c++) {
        if (this.establishedAt[c] === 0 && this.closedAt[c] === 0) this.fail(c, 'connect timeout');
      }
      this.maybeConnectDone();
    }, this.init.connectTimeoutMs);
    this.connectDeadline.unref?.();
    if (this.n === 0) this.maybeConnectDone();
  }

  private open(c: number): void {
    const spec = this.init.conns[c]!;
    this.startedAt[c] = now();
    let client: BugzappClient;
    try {
      client = new BugzappClient({
        url: spec.wsUrl,
        token: spec.token,
        ...(spec.localAddress ? { localAddress: spec.localAddress } : {}),
        handshakeTimeout: this.init.connectTimeoutMs,
        // a dropped connection comes back quickly (resume covers the gap); a dead server gives up in seconds
        maxRetries: 5,
        backoffBaseMs: 200,
        backoffCapMs: 2000,
        clock: now,
        wsOptions: { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 64 * 1024 * 1024 },
      });
    } catch (err) {
      this.fail(c, (err as Error).message);
      return;
    }
    this.clients[c] = client;
    client.on('event', (event, receivedAt) => this.onEvent(c, event, receivedAt));
    // the client drops a repeated seq; for the ledger that is a receipt, a duplicate
    client.on('duplicate', (event) => this.onEvent(c, event, now()));
    client.on('connected', () => {
      if (this.establishedAt[c] === 0) {
        if (this.closedAt[c] === 0) this.onEstablished(c, now());
        return;
      }
      this.reconnects++;
      this.timeline.connectionUp(c, now()); // timeline hook
      this.lastLostAt[c] = this.lostAt[c]!;
      this.lostAt[c] = 0;
      // back after a gap without resume: owed again what is fired from now on
      const g = this.gaps[c];
      if (g !== undefined && g[g.length - 1] === 0) g[g.length - 1] = now();
    });
    client.on('state', (state) => {
      if (state.state !== 'reconnecting' || this.establishedAt[c] === 0 || this.finished) return;
      this.timeline.connectionDown(c, now()); // timeline hook
      if (this.lostAt[c] === 0) this.lostAt[c] = now();
      // without resume the events of the gap are lost to this connection: it stops being owed them
      if (client.resumeSupported !== true) this.openGap(c);
    });
    // the server could not replay the gap (its history is shorter): what was fired while the connection
    // was away is lost to it, by the protocol's leave; the drop is reported, the gap is not owed
    client.on('resume-window-exceeded', () => {
      if (this.finished || this.establishedAt[c] === 0 || this.lastLostAt[c] === 0) return;
      this.addGap(c, this.lastLostAt[c]!, now());
      this.lastLostAt[c] = 0;
      this.dropped++;
      this.timeline.error(now()); // timeline hook
    });
    client.connect().catch((err: unknown) => {
      if (this.establishedAt[c] === 0) this.fail(c, err instanceof Error ? err.message : String(err));
      else if (!this.finished) this.openGap(c);
    });
    void client.waitClosed().then(() => {
      if (!this.finished && this.establishedAt[c] !== 0) this.timeline.connectionDown(c, now()); // timeline hook
      if (!this.finished && this.establishedAt[c] !== 0) this.openGap(c);
    });
  }

  /** The connection stopped receiving (closed for good, or reconnecting without resume). */
  private openGap(c: number): void {
    const g = this.gaps[c];
    if (g !== undefined && g[g.length - 1] === 0) return;
    // a connection that gave up reconnecting was away since it was lost, not since it gave up
    this.addGap(c, this.lostAt[c] || now(), 0);
    this.dropped++;
    this.timeline.error(now()); // timeline hook
  }

  /**
   * Records a gap and takes the events it covers off the live expected count of those already answered
   * (else the drain waits for them until its timeout). Events registered long before the gap were
   * answered before it (the REST client gives up after 30 s), so the scan stops there.
   */
  private addGap(c: number, from: number, to: number): void {
    const before: number[] = [];
    const scanFrom = from - 60_000;
    let i = this.events.length - 1;
    for (; i >= 0; i--) {
      const ev = this.events[i];
      if (!ev) continue;
      if (ev.registeredAt < scanFrom) break;
      if (ev.ok && this.isEligible(ev, c)) before.push(i);
    }
    const g = this.gaps[c];
    if (g === undefined) this.gaps[c] = [from, to];
    else g.push(from, to);
    for (const k of before) {
      const ev = this.events[k]!;
      if (!this.isEligible(ev, c)) ev.expectedLive--;
    }
  }

  private fail(c: number, message: string): void {
    if (this.closedAt[c] !== 0 || this.establishedAt[c] !== 0) return;
    this.closedAt[c] = now();
    this.connectErrors++;
    this.timeline.error(this.closedAt[c]!); // timeline hook
    this.settled++;
    if (this.errorSamples.length < 5) this.errorSamples.push(`${this.init.conns[c]!.label}: ${message}`);
    const client = this.clients[c];
    this.clients[c] = undefined;
    void client?.close();
    this.maybeConnectDone();
  }

  private maybeConnectDone(): void {
    if (this.connectDoneSent || this.settled < this.n) return;
    this.connectDoneSent = true;
    this.send({ t: 'connectDone', p: this.progress() });
  }

  // ---- receipts ------------------------------------------------------------------------------

  private onEvent(c: number, msg: LoggedEvent, at: number): void {
    this.frames++;
    let t: number;
    let nonce: string | undefined;
    const payload = msg.payload as unknown as Record<string, unknown>;
    if (msg.type === 'bug_report' || msg.type === 'comment') {
      t = msg.type === 'bug_report' ? T_BUG_REPORT : T_COMMENT;
      nonce = this.nonceOf(msg.type === 'bug_report' ? payload.title : payload.body);
    } else if (msg.type === 'notification') {
      t = T_NOTIFICATION;
      nonce = this.nonceOf(payload.message);
    } else {
      return;
    }
    const action = t === T_NOTIFICATION ? '' : (msg as { action: string }).action;
    // a broadcast reaches every connection in one burst: the same nonce many times in a row
    let idx: number | undefined;
    let key: string;
    if (nonce !== undefined && nonce === this.lastNonce && t === this.lastType && action === this.lastAction) {
      idx = this.lastIdx;
      key = this.lastKey;
    } else {
      key =
        nonce !== undefined
          ? t === T_NOTIFICATION
            ? `notification:${nonce}`
            : `${msg.type}:${action}:${nonce}`
          : t === T_NOTIFICATION
            ? `notification:#${String(payload.bug_report_id)}`
            : `${msg.type}:${action}:#${String(payload.id)}`;
      idx = this.keyToIdx.get(key);
      if (idx !== undefined && nonce !== undefined) {
        this.lastNonce = nonce;
        this.lastType = t;
        this.lastAction = action;
        this.lastIdx = idx;
        this.lastKey = key;
      }
    }
    const seq = msg.seq;
    if (seq !== undefined) {
      this.sawSeq = true;
      const last = this.lastSeq[c];
      if (last !== undefined && compareSeq(seq, last) < 0) {
        this.outOfOrder[t]!++;
        if (idx !== undefined && this.oooSamples.length < MAX_OFFENDING_EVENTS) {
          this.oooSamples.push({ idx, kind: 'outOfOrder', count: 1, conns: [this.init.conns[c]!.label] });
        }
      } else {
        this.lastSeq[c] = seq;
      }
    }
    if (idx === undefined && t !== T_NOTIFICATION && nonce !== undefined) {
      const alias = `${msg.type}:${action}:#${String(payload.id)}`;
      idx = this.keyToIdx.get(alias);
      if (idx === undefined) {
        if (this.pendingCount < MAX_PENDING) {
          const r: PendingReceipt = { c, at, key, done: false };
          this.queue(key, r);
          this.queue(alias, r);
          this.pendingCount++;
        } else this.unmatched[t]!++;
        return;
      }
    }
    if (idx === undefined) {
      if (this.pendingCount < MAX_PENDING) {
        this.queue(key, { c, at, key, done: false });
        this.pendingCount++;
      } else this.unmatched[t]!++;
      return;
    }
    this.record(idx, c, at);
  }

  private onEstablished(c: number, at: number): void {
    this.establishedAt[c] = at;
    this.opened++;
    this.timeline.connectionUp(c, at); // timeline hook
    this.settled++;
    recordMs(this.hConnect, at - this.startedAt[c]!);
    this.maybeConnectDone();
  }

  private nonceOf(text: unknown): string | undefined {
    if (typeof text !== 'string') return undefined;
    const mark = this.init.nonceMark;
    const start = text.indexOf(this.nonceStart);
    if (start < 0) return undefined;
    const end = text.indexOf(mark, start + mark.length);
    if (end < 0) return undefined;
    return text.slice(start + mark.length, end);
  }

  private isEligibleAtReceipt(ev: LedgerEvent, c: number): boolean {
    const est = this.establishedAt[c]!;
    if (est === 0 || est > ev.registeredAt) return false;
    return ev.type !== T_NOTIFICATION || this.init.conns[c]!.userId === ev.target;
  }

  private record(idx: number, c: number, at: number): void {
    const ev = this.events[idx]!;
    const n = ev.counts[c]!;
    ev.counts[c] = n === 255 ? 255 : n + 1;
    const eligible = this.isEligibleAtReceipt(ev, c);
    if (n > 0) {
      if (eligible) this.duplicated++;
      return;
    }
    if (!eligible) {
      if (ev.type === T_NOTIFICATION && this.init.conns[c]!.userId !== ev.target) this.misrouted++;
      return;
    }
    if (this.drainEndedAt !== 0 && at > this.drainEndedAt) {
      ev.late ??= new Uint8Array(this.n);
      ev.late[c] = 1;
      return;
    }
    ev.deliveredLive++;
    const latency = at - ev.sentAt;
    recordMs(ev.type === T_NOTIFICATION ? this.hNotification : this.hBroadcast, latency);
    this.timeline.delivered(at, latency); // timeline hook
    if (ev.firstMin === 0 || at < ev.firstMin) ev.firstMin = at;
    if (at > ev.firstMax) ev.firstMax = at;
  }

  private register(idx: number, key: string, type: number, target: string | null, sentAt: number, registeredAt: number): void {
    this.events[idx] = {
      type,
      target,
      sentAt,
      registeredAt,
      acked: false,
      ok: false,
      respondedAt: 0,
      counts: new Uint8Array(this.n),
      late: undefined,
      firstMin: 0,
      firstMax: 0,
      expectedLive: 0,
      deliveredLive: 0,
    };
    this.bind(key, idx);
  }

  private queue(key: string, r: PendingReceipt): void {
    const list = this.pending.get(key);
    if (list) list.push(r);
    else this.pending.set(key, [r]);
  }

  /** Maps `key` to the event and replays receipts that arrived before the key was known. */
  private bind(key: string, idx: number): void {
    if (!this.keyToIdx.has(key)) this.keyToIdx.set(key, idx);
    const list = this.pending.get(key);
    if (!list) return;
    this.pending.delete(key);
    for (const r of list) {
      if (r.done) continue;
      r.done = true;
      this.pendingCount--;
      this.record(idx, r.c, r.at);
    }
  }

  private ack(idx: number, ok: boolean, respondedAt: number, alias: string | undefined): void {
    const ev = this.events[idx];
    if (!ev) return;
    ev.acked = true;
    ev.ok = ok;
    ev.respondedAt = respondedAt;
    if (!ok) return;
    if (alias !== undefined) this.bind(alias, idx);
    let expected = 0;
    for (let c = 0; c < this.n; c++) if (this.isEligible(ev, c)) expected++;
    ev.expectedLive = expected;
  }

  /**
   * Who must receive `ev`: open before it was fired, and not in a gap (closed, or reconnecting without
   * resume) at any time between its registration and its answer.
   */
  private isEligible(ev: LedgerEvent, c: number): boolean {
    const est = this.establishedAt[c]!;
    if (est === 0 || est > ev.registeredAt) return false;
    const g = this.gaps[c];
    if (g !== undefined) {
      for (let i = 0; i < g.length; i += 2) {
        const reopened = g[i + 1]!;
        if (g[i]! < ev.respondedAt && (reopened === 0 || reopened > ev.registeredAt)) return false;
      }
    }
    return ev.type !== T_NOTIFICATION || this.init.conns[c]!.userId === ev.target;
  }

  // ---- summaries -----------------------------------------------------------------------------

  private progress(): ShardProgress {
    // per event, never more delivered than expected: receipts of a failed POST, or at a connection that
    // then dropped, must not make up for a missing one elsewhere (the drain would end early)
    let expected = 0;
    let delivered = 0;
    for (const ev of this.events) {
      if (!ev || !ev.ok) continue;
      expected += ev.expectedLive;
      delivered += Math.min(ev.deliveredLive, ev.expectedLive);
    }
    const elu = performance.eventLoopUtilization(this.eluStart);
    return {
      sync: this.syncSeen,
      opened: this.opened,
      connectErrors: this.connectErrors,
      settled: this.settled,
      reconnects: this.reconnects,
      dropped: this.dropped,
      expected,
      delivered,
      duplicated: this.duplicated,
      misrouted: this.misrouted,
      frames: this.frames,
      latency: this.liveLatency(),
      lagMs: lagSummary(this.lag),
      elu: elu.utilization,
    };
  }

  /** Broadcasts and notifications together, for the live view (once per progress tick). */
  private liveLatency(): string {
    const h = createHistogram();
    h.add(this.hBroadcast);
    h.add(this.hNotification);
    const encoded = encodeHistogram(h);
    h.destroy();
    return encoded;
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.connectTimer) clearInterval(this.connectTimer);
    if (this.progressTimer) clearInterval(this.progressTimer);
    if (this.connectDeadline) clearTimeout(this.connectDeadline);
    const final = this.summarize();
    await this.closeAll();
    this.lag.disable();
    this.send({ t: 'final', f: final });
  }

  private summarize(): ShardFinal {
    const nEv = this.events.length;
    const perEvent = new Int32Array(nEv * PER_EVENT_FIELDS);
    const firstMin = new Float64Array(nEv);
    const firstMax = new Float64Array(nEv);
    const offenders: ShardOffender[] = [...this.oooSamples];
    let offendingEvents = 0;
    for (let i = 0; i < nEv; i++) {
      const ev = this.events[i];
      // a failed POST owes nothing, but a notification of it at another user's connection still leaked
      if (!ev || !ev.acked) continue;
      let expected = 0;
      let delivered = 0;
      let missing = 0;
      let duplicated = 0;
      let misrouted = 0;
      let late = 0;
      const samples: Record<'missing' | 'duplicated' | 'misrouted' | 'late', string[]> = {
        missing: [],
        duplicated: [],
        misrouted: [],
        late: [],
      };
      for (let c = 0; c < this.n; c++) {
        const count = ev.counts[c]!;
        const label = this.init.conns[c]!.label;
        if (ev.type === T_NOTIFICATION && count > 0 && this.init.conns[c]!.userId !== ev.target) {
          misrouted += count;
          if (samples.misrouted.length < MAX_SAMPLES) samples.misrouted.push(label);
          continue;
        }
        if (!ev.ok || !this.isEligible(ev, c)) continue;
        expected++;
        if (count === 0) {
          missing++;
          if (samples.missing.length < MAX_SAMPLES) samples.missing.push(label);
          continue;
        }
        if (ev.late !== undefined && ev.late[c] === 1) {
          late++;
          if (samples.late.length < MAX_SAMPLES) samples.late.push(label);
        } else delivered++;
        if (count > 1) {
          duplicated += count - 1;
          if (samples.duplicated.length < MAX_SAMPLES) samples.duplicated.push(label);
        }
      }
      const o = i * PER_EVENT_FIELDS;
      perEvent[o] = expected;
      perEvent[o + 1] = delivered;
      perEvent[o + 2] = missing;
      perEvent[o + 3] = duplicated;
      perEvent[o + 4] = misrouted;
      perEvent[o + 5] = late;
      firstMin[i] = ev.firstMin;
      firstMax[i] = ev.firstMax;
      if ((missing || duplicated || misrouted || late) && offendingEvents < MAX_OFFENDING_EVENTS) {
        offendingEvents++;
        if (missing) offenders.push({ idx: i, kind: 'missing', count: missing, conns: samples.missing });
        if (duplicated) offenders.push({ idx: i, kind: 'duplicated', count: duplicated, conns: samples.duplicated });
        if (misrouted) offenders.push({ idx: i, kind: 'misrouted', count: misrouted, conns: samples.misrouted });
        if (late) offenders.push({ idx: i, kind: 'late', count: late, conns: samples.late });
      }
    }
    // receipts whose key never matched a fired event (aliases are second names of the same receipt)
    for (const [key, list] of this.pending) {
      const t = key.startsWith('bug_report') ? T_BUG_REPORT : key.startsWith('comment') ? T_COMMENT : T_NOTIFICATION;
      for (const r of list) {
        if (r.done || r.key !== key) continue;
        r.done = true;
        this.unmatched[t]!++;
      }
    }
    const used = new Set<string>();
    for (let c = 0; c < this.n; c++) if (this.startedAt[c] !== 0) used.add(this.init.conns[c]!.localAddress || 'os');
    return {
      ...this.progress(),
      perEvent,
      firstMin,
      firstMax,
      outOfOrder: [...this.outOfOrder],
      unmatched: [...this.unmatched],
      offenders,
      broadcast: encodeHistogram(this.hBroadcast),
      notification: encodeHistogram(this.hNotification),
      connect: encodeHistogram(this.hConnect),
      errorSamples: [...this.errorSamples],
      localAddresses: [...used],
      sawSeq: this.sawSeq,
      timeline: this.timeline.snapshot(), // timeline hook
    };
  }

  private async closeAll(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (let c = 0; c < this.n; c++) {
      const client = this.clients[c];
      if (!client) continue;
      this.closing[c] = 1;
      waits.push(client.close().catch(() => undefined));
    }
    await Promise.all(waits);
  }
}
