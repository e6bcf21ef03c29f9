// One shard of simulated connections (BugzappClient). It matches receipts to fired events and feeds the
// record (presence, receipts, answers) to its Ledger, which alone decides what is owed; latencies go into
// local HDR histograms, and only summaries leave. Runs in the main thread or in a worker (shard-worker.ts).
import { BugzappClient, type ClientState } from '../client/client.ts';
import { createSharedDecoder, type FrameDecoder } from '../client/shared-decode.ts';
import type { LoggedEvent } from '../protocol/index.ts';
import { performance } from 'node:perf_hooks';
import { now } from './clock.ts';
import { createLagMonitor, lagSummary, type LagMonitor } from './health.ts';
import { pickCuts, shardSeed, slowSeed, stepsBetween, nextStepAt, type CutPlan } from './churn.ts';
import { createRandom } from './random.ts';
import { CloseCode, mintTokenSync } from '../protocol/index.ts';
import { createHistogram, encodeHistogram, recordMs, type Histogram } from './histogram.ts';
import { Ledger, T_BUG_REPORT, T_COMMENT, T_NOTIFICATION } from './ledger.ts';
import type { FromShard, ShardFinal, ShardInit, ShardProgress, ShardResilience, ToShard } from './shard-protocol.ts';
import { TimelineRecorder } from './timeline.ts';

interface PendingReceipt {
  c: number;
  at: number;
  key: string;
  done: boolean;
  /** Its seq, for the ledger's log order (R10), when it has one. */
  seq: string | undefined;
}

const MAX_PENDING = 200_000;
/** slow hook: a connection's state under --slow. */
const SLOW_NONE = 0;
const SLOW_PAUSED = 1;
const SLOW_READING = 2;
const SLOW_CLOSED = 3;
const SLOW_BACK = 4;
/** Cut by --churn or --storm before the server closed it: not the server's doing, counted apart. */
const SLOW_CUT = 5;
/** The heartbeat a paused connection waits at most when the server advertises none (the client's default). */
const DEFAULT_HEARTBEAT_MS = 30_000;
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
  // ---- resilience: cuts on one scheduler timer, and what came of them ----
  private cutTimer: NodeJS.Timeout | undefined;
  private cutOrigin = 0;
  private cutDoneMs = 0;
  private cutRandom: () => number = Math.random;
  /** Per connection: when its current loss began (0 = up), the storm that cut it (-1 = none). */
  private readonly lossAt: Float64Array;
  private readonly stormOf: Int16Array;
  /** Per connection: back after a loss, waiting for its first replayed event (the loss time kept here). */
  private readonly resumeFrom: Float64Array;
  private readonly resumeFirstAt: Float64Array;
  private readonly refreshed: Uint8Array;
  private reconnecting = 0;
  private readonly res: ShardResilience = {
    churnCuts: 0,
    stormCuts: 0,
    storms: [],
    reconnect: '',
    resume: '',
    replayed: 0,
    gaveUp: 0,
    slowConsumerCloses: 0,
    tokenRefreshes: 0,
    tokenRefreshedConnections: 0,
    reconnectingAtEnd: 0,
  };
  private readonly hReconnect: Histogram = createHistogram();
  private readonly hResume: Histogram = createHistogram();

  constructor(init: ShardInit, send: (msg: FromShard) => void) {
    this.init = init;
    this.send = send;
    this.nonceStart = init.nonceMark + init.runTag;
    this.n = init.conns.length;
    this.clients = new Array<BugzappClient | undefined>(this.n);
    this.startedAt = new Float64Array(this.n);
    this.settledConn = new Uint8Array(this.n);
    this.ledger = new Ledger(init.conns, init.eligibility ? { eligibility: init.eligibility } : {});
    this.timeline = new TimelineRecorder(this.n); // timeline hook
    this.lag = createLagMonitor();
    this.lossAt = new Float64Array(this.n);
    this.stormOf = new Int16Array(this.n).fill(-1);
    this.resumeFrom = new Float64Array(this.n);
    this.resumeFirstAt = new Float64Array(this.n);
    this.refreshed = new Uint8Array(this.n);
    if (init.cuts) {
      this.cutRandom = createRandom(shardSeed(init.cuts.seed, init.shardId));
      this.res.storms = init.cuts.plan.storms.map(() => ({ cut: 0, back: 0, resumed: 0, maxBackMs: 0, maxResumedMs: 0 }));
    }
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
        if (this.init.cuts) this.startCutting(msg.at, this.init.cuts.plan);
        if (this.init.slow) this.startSlow(); // slow hook
        break;
      case 'sync':
        this.stopCutting(); // the drain began: no more cuts
        this.fireEndedForSlow(); // slow hook
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
      const tokens = this.init.tokens;
      client = new BugzappClient({
        url: spec.wsUrl,
        // a short-lived token: a fresh one at every (re)connect, so a 4001 comes back with a good one
        ...(tokens
          ? { tokenProvider: () => mintTokenSync({ userId: spec.userId, secret: tokens.secret, ttlSeconds: tokens.ttlSeconds }) }
          : { token: spec.token }),
        ...(spec.localAddress ? { localAddress: spec.localAddress } : {}),
        handshakeTimeout: this.init.connectTimeoutMs,
        // a dropped connection comes back quickly (resume covers the gap); a dead server gives up in seconds
        maxRetries: 5,
        backoffBaseMs: 200,
        backoffCapMs: 2000,
        clock: now,
        // the lean transport for ws:// (no stream machinery, no closures per connection); wss:// needs ws
        transport: spec.wsUrl.startsWith('ws://') ? 'lean' : 'ws',
        wsOptions: { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 64 * 1024 * 1024 },
        decode: this.decode, // receive path
        tag: c,
      });
    } catch (err) {
      this.fail(c, (err as Error).message);
      return;
    }
    this.clients[c] = client;
    const on = this.listeners;
    client.on('event', on.event);
    // the client drops a repeated seq; for the ledger that is a receipt, a duplicate
    client.on('duplicate', on.duplicate);
    client.on('connected', on.connected);
    client.on('state', on.state);
    client.on('resumed', on.resumed);
    client.on('resume-window-exceeded', on.windowExceeded);
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
      this.res.gaveUp++;
      if (this.lossAt[c] !== 0) {
        this.lossAt[c] = 0;
        this.reconnecting--;
      }
      this.timeline.connectionDown(c, at); // timeline hook
      this.ledger.gaveUp(c, at);
      this.noteDrops(at);
    });
  }

  /**
   * The listeners of every connection of the shard (one set: a client is `this`, its tag the index),
   * so a connection costs no closures.
   */
  private readonly listeners = ((shard: Shard) => ({
    event(this: BugzappClient, event: LoggedEvent, receivedAt: number): void {
      shard.onEvent(this.tag, event, receivedAt);
    },
    duplicate(this: BugzappClient, event: LoggedEvent): void {
      shard.onEvent(this.tag, event, now());
    },
    connected(this: BugzappClient): void {
      shard.onConnected(this.tag, this);
    },
    state(this: BugzappClient, state: ClientState): void {
      shard.onState(this.tag, this, state);
    },
    resumed(this: BugzappClient, info: { replayed: number; since: string }): void {
      shard.onResumed(this.tag, info);
    },
    windowExceeded(this: BugzappClient): void {
      shard.onWindowExceeded(this.tag);
    },
  }))(this);

  private onConnected(c: number, client: BugzappClient): void {
    const at = now();
    const first = this.settledConn[c] === 0;
    if (!first) this.back(c, client, at);
    this.ledger.connected(c, at);
    this.timeline.connectionUp(c, at); // timeline hook
    if (first) {
      this.settledConn[c] = 1;
      this.settled++;
      recordMs(this.hConnect, at - this.startedAt[c]!);
      this.maybeConnectDone();
    }
    this.slowBack(c); // slow hook
  }

  private onState(c: number, client: BugzappClient, state: ClientState): void {
    if (state.state !== 'reconnecting' || this.finished) return;
    const at = now();
    if (state.closeCode === CloseCode.SlowConsumer) this.res.slowConsumerCloses++;
    if (state.closeCode === CloseCode.TokenExpired) {
      this.res.tokenRefreshes++;
      if (this.refreshed[c] === 0) {
        this.refreshed[c] = 1;
        this.res.tokenRefreshedConnections++;
      }
    }
    if (this.lossAt[c] === 0 && this.settledConn[c] !== 0) {
      this.lossAt[c] = at;
      this.reconnecting++;
    }
    // a cut's loss began at the cut, not when the client noticed it (a busy loop can fire an event in
    // between, which the cut connection could never receive)
    const lostAt = this.lossAt[c] !== 0 ? this.lossAt[c]! : at;
    this.timeline.connectionDown(c, lostAt); // timeline hook
    this.ledger.lost(c, lostAt, client.resumeSupported === true);
    this.noteDrops(at);
    this.slowClosed(c, state.closeCode); // slow hook
  }

  private onResumed(c: number, info: { replayed: number; since: string }): void {
    if (this.finished) return;
    this.res.replayed += info.replayed;
    const from = this.resumeFrom[c]!;
    if (from === 0) return;
    this.resumeFrom[c] = 0;
    const first = this.resumeFirstAt[c]!;
    this.resumeFirstAt[c] = 0;
    if (info.replayed === 0 || first === 0) return;
    recordMs(this.hResume, first - from);
    const k = this.stormOf[c]!;
    if (k >= 0) {
      this.stormOf[c] = -1;
      const st = this.res.storms[k]!;
      st.resumed++;
      st.maxResumedMs = Math.max(st.maxResumedMs, first - from);
    }
  }

  private onWindowExceeded(c: number): void {
    if (this.finished) return;
    const at = now();
    this.ledger.resumeRefused(c, at);
    this.noteDrops(at);
  }

  /** Connection c is back after a loss: reconnect time, and (resuming) wait for its first replayed event. */
  private back(c: number, client: BugzappClient, at: number): void {
    const from = this.lossAt[c]!;
    if (from === 0) return;
    this.lossAt[c] = 0;
    this.reconnecting--;
    recordMs(this.hReconnect, at - from);
    const k = this.stormOf[c]!;
    if (k >= 0) {
      const st = this.res.storms[k]!;
      st.back++;
      st.maxBackMs = Math.max(st.maxBackMs, at - from);
    }
    if (client.resumeSupported !== true) {
      this.stormOf[c] = -1;
      return;
    }
    // the replay, if any, comes next: its first event is the first event of this connection
    this.resumeFrom[c] = from;
    this.resumeFirstAt[c] = 0;
    client.once('event', (_e, receivedAt) => {
      if (this.resumeFrom[c] === from && this.resumeFirstAt[c] === 0) this.resumeFirstAt[c] = receivedAt;
    });
  }

  // ---- cuts ----------------------------------------------------------------------------------

  /** One timer for the shard: each step cuts a seeded choice of the connections open at that moment. */
  private startCutting(origin: number, plan: CutPlan): void {
    this.cutOrigin = origin;
    this.cutDoneMs = 0;
    const arm = (): void => {
      const next = nextStepAt(plan, this.cutDoneMs);
      if (next === undefined || this.finished) return;
      this.cutTimer = setTimeout(run, Math.max(0, this.cutOrigin + next - now()));
      this.cutTimer.unref?.();
    };
    const run = (): void => {
      this.cutTimer = undefined;
      if (this.finished) return;
      const elapsed = now() - this.cutOrigin;
      for (const step of stepsBetween(plan, this.cutDoneMs, elapsed)) this.cut(step.percent, step.storm);
      this.cutDoneMs = Math.max(this.cutDoneMs, elapsed);
      arm();
    };
    arm();
  }

  private stopCutting(): void {
    if (this.cutTimer) clearTimeout(this.cutTimer);
    this.cutTimer = undefined;
    this.init.cuts = undefined;
  }

  /** Cut percent% of the open connections abruptly (no close frame); storm: the index of the storm, else -1. */
  private cut(percent: number, storm: number): void {
    const open: number[] = [];
    for (let c = 0; c < this.n; c++) if (this.lossAt[c] === 0 && this.clients[c]?.isOpen === true) open.push(c);
    const at = now();
    for (const c of pickCuts(open, percent, this.cutRandom)) {
      const client = this.clients[c]!;
      // the loss starts now, not when the client notices: set before the socket goes
      this.lossAt[c] = at;
      this.reconnecting++;
      // a new cut supersedes the last: a storm's connection cut again by churn is the churn's now
      this.stormOf[c] = storm;
      if (storm >= 0) {
        this.res.storms[storm]!.cut++;
        this.res.stormCuts++;
      } else this.res.churnCuts++;
      this.slowCut(c); // slow hook
      if (!client.dropLink()) {
        this.lossAt[c] = 0;
        this.reconnecting--;
      }
    }
  }

  // ---- slow readers (--slow P%[:DURATION]) ---------------------------------------------------
  // At the start of the fire phase a seeded choice of P% of the open connections stops reading its socket
  // (BugzappClient.pauseReading). They read again after DURATION; without one, when firing ends (the server
  // can only act on a slow consumer while it sends) or after the server's heartbeat interval (a connection
  // silent that long is dead to a heartbeat), whichever comes first: a paused client cannot see the server
  // act until it reads. What each one sees then is counted: 4008, another close, or none. One timer.

  private slowState: Uint8Array = new Uint8Array(0);
  private slowTimer: NodeJS.Timeout | undefined;
  private readonly hSlow: Histogram = createHistogram();
  private readonly slowRes = { paused: 0, closed4008: 0, closedOther: 0, back: 0, cut: 0 };
  private slowPausedNow = 0;

  private startSlow(): void {
    const spec = this.init.slow!;
    this.slowState = new Uint8Array(this.n);
    const open: number[] = [];
    for (let c = 0; c < this.n; c++) if (this.lossAt[c] === 0 && this.clients[c]?.isOpen === true) open.push(c);
    let heartbeatMs = Infinity;
    for (const c of pickCuts(open, spec.percent, createRandom(slowSeed(spec.seed, this.init.shardId)))) {
      const client = this.clients[c]!;
      if (!client.pauseReading()) continue;
      this.slowState[c] = SLOW_PAUSED;
      this.slowRes.paused++;
      this.slowPausedNow++;
      heartbeatMs = Math.min(heartbeatMs, client.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    }
    if (this.slowRes.paused === 0) return;
    const after = spec.durationMs ?? heartbeatMs;
    this.slowTimer = setTimeout(() => this.resumeSlow(), after);
    this.slowTimer.unref?.();
  }

  /** Connection c closed (onState): a slow one was closed by the server with 4008, or otherwise. */
  private slowClosed(c: number, closeCode: number | undefined): void {
    const s = this.slowState[c];
    if (s !== SLOW_PAUSED && s !== SLOW_READING) return;
    if (s === SLOW_PAUSED) this.slowPausedNow--;
    this.slowState[c] = SLOW_CLOSED;
    if (closeCode === CloseCode.SlowConsumer) this.slowRes.closed4008++;
    else this.slowRes.closedOther++;
  }

  /** Connection c is connected again (onConnected): a slow one the server closed is back. */
  private slowBack(c: number): void {
    if (this.finished || this.slowState[c] !== SLOW_CLOSED) return;
    this.slowState[c] = SLOW_BACK;
    this.slowRes.back++;
  }

  /** A paused (or reading again, not yet closed) connection is about to be cut: its close is ours, not the server's. */
  private slowCut(c: number): void {
    const s = this.slowState[c];
    if (s !== SLOW_PAUSED && s !== SLOW_READING) return;
    if (s === SLOW_PAUSED) this.slowPausedNow--;
    this.slowState[c] = SLOW_CUT;
    this.slowRes.cut++;
  }

  /** Firing ended: without a DURATION the paused connections read again (the server has nothing more to send). */
  private fireEndedForSlow(): void {
    if (this.init.slow && this.init.slow.durationMs === undefined) this.resumeSlow();
  }

  private resumeSlow(): void {
    if (this.slowTimer) clearTimeout(this.slowTimer);
    this.slowTimer = undefined;
    for (let c = 0; c < this.slowState.length; c++) {
      if (this.slowState[c] !== SLOW_PAUSED) continue;
      this.slowState[c] = SLOW_READING;
      this.slowPausedNow--;
      this.clients[c]?.resumeReading();
    }
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
        const r: PendingReceipt = { c, at, key, done: false, seq };
        this.queue(key, r);
        if (alias !== undefined) this.queue(alias, r);
        this.pendingCount++;
      } else this.ledger.unmatched(t);
      return;
    }
    this.record(idx, c, at);
  }

  private record(idx: number, c: number, at: number, seq?: string): void {
    const latency = this.ledger.receipt(idx, c, at, seq);
    if (latency < 0) return;
    // slow hook: a paused connection's receipts go apart, out of the others' figures and the timeline's latency
    const slow = (this.slowState[c] ?? SLOW_NONE) !== SLOW_NONE;
    recordMs(slow ? this.hSlow : this.types[idx] === T_NOTIFICATION ? this.hNotification : this.hBroadcast, latency);
    this.timeline.delivered(at, slow ? Number.NaN : latency); // timeline hook
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
      this.record(idx, r.c, r.at, r.seq);
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
      cuts: this.res.churnCuts + this.res.stormCuts,
      reconnecting: this.reconnecting,
      ...(this.init.slow ? { paused: this.slowPausedNow } : {}), // slow hook
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
    if (this.cutTimer) clearTimeout(this.cutTimer);
    this.resumeSlow(); // slow hook: a paused socket would not read the close handshake
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
      resilience: {
        ...this.res,
        storms: this.res.storms.map((x) => ({ ...x })),
        reconnect: encodeHistogram(this.hReconnect),
        resume: encodeHistogram(this.hResume),
        reconnectingAtEnd: this.reconnecting,
        ...(this.init.slow ? { slow: { ...this.slowRes, latency: encodeHistogram(this.hSlow) } } : {}), // slow hook
      },
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
