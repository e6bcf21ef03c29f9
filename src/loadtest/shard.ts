// One shard of simulated connections (BugzappClient). It matches receipts to fired events and feeds the
// record (presence, receipts, answers) to its Ledger, which alone decides what is owed; latencies go into
// local HDR histograms, and only summaries leave. Runs in the main thread or in a worker (shard-worker.ts).
import { BugzappClient } from '../client/client.ts';
import { createSharedDecoder, type FrameDecoder } from '../client/shared-decode.ts';
import type { LoggedEvent } from '../protocol/index.ts';
import { performance } from 'node:perf_hooks';
import { now } from './clock.ts';
import { createLagMonitor, lagSummary, type LagMonitor } from './health.ts';
import { createHistogram, encodeHistogram, recordMs, type Histogram } from './histogram.ts';
import { Ledger, T_BUG_REPORT, T_COMMENT, T_NOTIFICATION } from './ledger.ts';
import type { FromShard, ShardFinal, ShardInit, ShardProgress, ToShard } from './shard-protocol.ts';
import { TimelineRecorder } from './timeline.ts';

interface PendingReceipt {
  c: number;
  at: number;
  key: string;
  done: boolean;
}

const MAX_PENDING = 200_000;
/** How often the live latency histogram is re-encoded for progress, ms. */
const LIVE_LATENCY_EVERY_MS = 1000;

export class Shard {
  private readonly init: ShardInit;
  private readonly send: (msg: FromShard) => void;
  private readonly n: number;
  private readonly clients: (BugzappClient | undefined)[];
  private readonly startedAt: Float64Array;
  /** 1 once connection_established came or the attempt failed. */
  private readonly settledConn: Uint8Array;
  private readonly ledger: Ledger;
  private readonly types: number[] = [];
  private readonly keyToIdx = new Map<string, number>();
  /** Opening mark and run tag: where a nonce of this run starts. */
  private readonly nonceStart: string;
  private lastNonce: string | undefined;
  private lastType = -1;
  private lastAction = '';
  private lastIdx = 0;
  private lastKey = '';
  // receive path: one decoder for all connections (a broadcast is parsed once per shard), and the
  // message it last matched to an event (the same object for every socket of the broadcast)
  private readonly decode: FrameDecoder = createSharedDecoder();
  private lastMsg: LoggedEvent | undefined;
  private lastMsgType = -1;
  private liveEncoded: string | undefined;
  private liveCount = -1;
  private liveAt = 0;
  /** Receipts whose key is not known yet, listed under their key and their (type, action, id) alias. */
  private readonly pending = new Map<string, PendingReceipt[]>();
  private pendingCount = 0;
  private readonly hBroadcast: Histogram = createHistogram();
  private readonly hNotification: Histogram = createHistogram();
  private readonly hConnect: Histogram = createHistogram();
  private readonly errorSamples: string[] = [];
  private readonly lag: LagMonitor;
  private readonly eluStart = performance.eventLoopUtilization();
  private settled = 0;
  private frames = 0;
  private sawSeq = false;
  private finished = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private connectDeadline: NodeJS.Timeout | undefined;
  private connectDoneSent = false;
  private syncSeen = 0;
  private readonly timeline: TimelineRecorder; // timeline hook
  private dropsNoted = 0;

  constructor(init: ShardInit, send: (msg: FromShard) => void) {
    this.init = init;
    this.send = send;
    this.nonceStart = init.nonceMark + init.runTag;
    this.n = init.conns.length;
    this.clients = new Array<BugzappClient | undefined>(this.n);
    this.startedAt = new Float64Array(this.n);
    this.settledConn = new Uint8Array(this.n);
    this.ledger = new Ledger(init.conns);
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
        this.ledger.fire(msg.idx, msg.type, msg.target, msg.sentAt, msg.registeredAt);
        this.types[msg.idx] = msg.type;
        this.bind(msg.key, msg.idx);
        break;
      case 'ack':
        this.ledger.answer(msg.idx, msg.ok, msg.respondedAt);
        if (msg.ok && msg.alias !== undefined) this.bind(msg.alias, msg.idx);
        break;
      case 'drainEnd':
        this.ledger.drainEnd(msg.at);
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
      for (let c = 0; c < this.n; c++) if (this.settledConn[c] === 0) this.fail(c, 'connect timeout');
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
        decode: this.decode, // receive path
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
      const at = now();
      const first = this.settledConn[c] === 0;
      this.ledger.connected(c, at);
      this.timeline.connectionUp(c, at); // timeline hook
      if (first) {
        this.settledConn[c] = 1;
        this.settled++;
        recordMs(this.hConnect, at - this.startedAt[c]!);
        this.maybeConnectDone();
      }
    });
    client.on('state', (state) => {
      if (state.state !== 'reconnecting' || this.finished) return;
      const at = now();
      this.timeline.connectionDown(c, at); // timeline hook
      this.ledger.lost(c, at, client.resumeSupported === true);
      this.noteDrops(at);
    });
    client.on('resume-window-exceeded', () => {
      if (this.finished) return;
      const at = now();
      this.ledger.resumeRefused(c, at);
      this.noteDrops(at);
    });
    client.connect().catch((err: unknown) => {
      if (this.settledConn[c] === 0) this.fail(c, err instanceof Error ? err.message : String(err));
      else if (!this.finished) {
        const at = now();
        this.timeline.connectionDown(c, at); // timeline hook
        this.ledger.gaveUp(c, at);
        this.noteDrops(at);
      }
    });
    void client.waitClosed().then(() => {
      if (this.finished) return;
      const at = now();
      this.timeline.connectionDown(c, at); // timeline hook
      this.ledger.gaveUp(c, at);
      this.noteDrops(at);
    });
  }

  /** Drops the ledger counted (it decides what is one) go into the timeline's errors of this second. */
  private noteDrops(at: number): void {
    const dropped = this.ledger.presence().dropped;
    for (; this.dropsNoted < dropped; this.dropsNoted++) this.timeline.error(at); // timeline hook
  }

  private fail(c: number, message: string): void {
    if (this.settledConn[c] !== 0) return;
    this.settledConn[c] = 1;
    const at = now();
    this.ledger.failed(c, at);
    this.timeline.error(at); // timeline hook
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
    // the same decoded broadcast again (shared decoder): its event is already known
    if (msg === this.lastMsg) {
      if (msg.seq !== undefined) {
        this.sawSeq = true;
        this.ledger.order(c, this.lastMsgType, msg.seq, this.lastIdx);
      }
      this.record(this.lastIdx, c, at);
      return;
    }
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
      this.lastMsg = msg;
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
        this.lastMsg = msg;
        this.lastMsgType = t;
      }
    }
    let alias: string | undefined;
    if (idx === undefined && t !== T_NOTIFICATION && nonce !== undefined) {
      alias = `${msg.type}:${action}:#${String(payload.id)}`;
      idx = this.keyToIdx.get(alias);
    }
    const seq = msg.seq;
    if (seq !== undefined) {
      this.sawSeq = true;
      this.ledger.order(c, t, seq, idx ?? -1);
    }
    if (idx === undefined) {
      if (this.pendingCount < MAX_PENDING) {
        const r: PendingReceipt = { c, at, key, done: false };
        this.queue(key, r);
        if (alias !== undefined) this.queue(alias, r);
        this.pendingCount++;
      } else this.ledger.unmatched(t);
      return;
    }
    this.record(idx, c, at);
  }

  private record(idx: number, c: number, at: number): void {
    const latency = this.ledger.receipt(idx, c, at);
    if (latency < 0) return;
    recordMs(this.types[idx] === T_NOTIFICATION ? this.hNotification : this.hBroadcast, latency);
    this.timeline.delivered(at, latency); // timeline hook
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

  // ---- summaries -----------------------------------------------------------------------------

  private progress(): ShardProgress {
    const live = this.ledger.live();
    const p = this.ledger.presence();
    const elu = performance.eventLoopUtilization(this.eluStart);
    return {
      sync: this.syncSeen,
      opened: p.opened,
      connectErrors: p.connectErrors,
      settled: this.settled,
      reconnects: p.reconnects,
      dropped: p.dropped,
      expected: live.expected,
      delivered: live.delivered,
      duplicated: live.duplicated,
      misrouted: live.misrouted,
      frames: this.frames,
      latency: this.liveLatency(),
      lagMs: lagSummary(this.lag),
      elu: elu.utilization,
    };
  }

  /**
   * Broadcasts and notifications together, for the live view: merged and encoded at most once a second
   * and only when new receipts came (progress ticks in between send the last encoding again).
   */
  private liveLatency(): string {
    const count = this.hBroadcast.totalCount + this.hNotification.totalCount;
    const t = now();
    if (this.liveEncoded !== undefined && (count === this.liveCount || t - this.liveAt < LIVE_LATENCY_EVERY_MS)) return this.liveEncoded;
    const h = createHistogram();
    h.add(this.hBroadcast);
    h.add(this.hNotification);
    this.liveEncoded = encodeHistogram(h);
    h.destroy();
    this.liveCount = count;
    this.liveAt = t;
    return this.liveEncoded;
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
    this.liveEncoded = undefined; // the final figures are exact, not a second old
    // receipts whose key never matched a fired event (aliases are second names of the same receipt)
    for (const [key, list] of this.pending) {
      const t = key.startsWith('bug_report') ? T_BUG_REPORT : key.startsWith('comment') ? T_COMMENT : T_NOTIFICATION;
      for (const r of list) {
        if (r.done || r.key !== key) continue;
        r.done = true;
        this.ledger.unmatched(t);
      }
    }
    const used = new Set<string>();
    for (let c = 0; c < this.n; c++) if (this.startedAt[c] !== 0) used.add(this.init.conns[c]!.localAddress || 'os');
    return {
      ...this.progress(),
      ledger: this.ledger.summary(),
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
      waits.push(client.close().catch(() => undefined));
    }
    await Promise.all(waits);
  }
}
