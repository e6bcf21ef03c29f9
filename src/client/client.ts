// The protocol client: connect with a token, reconnect with backoff and full jitter, resume with
// `since` and drop duplicates, follow the close codes of protocol.md, and watch the line (a server gone
// silent is a lost connection). Light on purpose: the load tester holds tens of thousands of these in
// one process, so a connected client owns no timer (one shared LineWatch ticks for all) and does no
// work per message beyond the parse, a flag, and the listeners.
import { EventEmitter } from 'node:events';
import type { ClientOptions as WsClientOptions } from 'ws';
import { AuthError, BugzappError, ClientError, InvalidOptionError, ProtocolError } from '../errors.ts';
import {
  adviseOnClose,
  CloseCode,
  decodeServerMessage,
  describeCloseCode,
  encode,
  ErrorText,
  type ClientMessage,
  type LoggedEvent,
  type RateLimitInfo,
  type ServerMessage,
} from '../protocol/index.ts';
import { BACKOFF_DEFAULTS, computeBackoff } from './backoff.ts';
import { EventIterator } from './event-iterator.ts';
import { LeanTransport } from './lean-transport.ts';
import { lineWatch, type WatchedLine } from './line-watch.ts';
import { guessSeqOrder, SeqRing } from './seq.ts';
import type { Transport, TransportKind, TransportSink } from './transport.ts';
import { resolveWsUrl } from './url.ts';
import { WsTransport } from './ws-transport.ts';

export type TokenProvider = () => string | Promise<string>;

export interface BugzappClientOptions {
  /** http(s):// or ws(s):// base URL (`/ws` is appended), or the full WebSocket URL. */
  url: string;
  /** A fixed token. Give this or `tokenProvider`. */
  token?: string;
  /** Called before every (re)connect, so a 4001 (token expired) reconnects with a fresh token. */
  tokenProvider?: TokenProvider;
  /** Consecutive failed attempts before giving up with ERR_RETRIES_EXHAUSTED; 0 = forever. @default 5 */
  maxRetries?: number;
  /** Delay ceiling of the first retry in ms, doubling per retry (full jitter). @default 1000 */
  backoffBaseMs?: number;
  /** Largest delay ceiling in ms. @default 30000 */
  backoffCapMs?: number;
  /** Reconnect with `since` and drop duplicates. @default true */
  resume?: boolean;
  /** The `since` of the first connection (resume from an earlier session). @default undefined */
  since?: string;
  /** Seqs remembered for dropping duplicates after a reconnect. @default 256 */
  dedupeWindow?: number;
  /** Source address of the TCP connection (the load tester rotates 127.0.0.x). @default the OS's choice */
  localAddress?: string;
  /** Opening handshake timeout in ms. @default 10000 */
  handshakeTimeout?: number;
  /**
   * Longest wait, after a resumed connection opens, for the end of its replay to be recognised before
   * `resumed` is reported with the count so far (a one-shot timer, only while resuming). @default 1000
   */
  replayWaitMs?: number;
  /**
   * How long after the upgrade to wait for connection_established before treating the connection as
   * established without one (a server that follows the guide's code literally never sends it).
   * @default 1000
   */
  establishWaitMs?: number;
  /**
   * Watch the line: with no frame from the server for its heartbeat interval the client sends a
   * WebSocket ping, and for the interval plus `heartbeatGraceMs` it takes the connection as lost and
   * reconnects (with `since`). @default true
   */
  watchLine?: boolean;
  /**
   * The server's heartbeat interval when its connection_established does not say (`heartbeat_ms`).
   * @default 30000
   */
  heartbeatMs?: number;
  /**
   * How much longer than the heartbeat interval the line may be silent.
   * @default half the heartbeat interval, at least 1000
   */
  heartbeatGraceMs?: number;
  /**
   * The WebSocket underneath: `ws` (the ws library: ws:// and wss://, `wsOptions` apply) or `lean`
   * (lean-transport.ts: ws:// only, no stream machinery and no closures per connection; the load
   * tester's, for tens of thousands of connections). @default 'ws'
   */
  transport?: TransportKind;
  /** Extra options for the `ws` WebSocket (perMessageDeflate is off unless set here); `ws` transport only. */
  wsOptions?: WsClientOptions;
  /**
   * A number of the caller's, kept as `client.tag`: listeners shared by many clients (a plain
   * `function`, called with the client as `this`) find their connection by it, so a caller holding
   * thousands of clients needs no closure per client. @default 0
   */
  tag?: number;
  /** Receive timestamps, ms. @default Date.now */
  clock?: () => number;
  /** [0, 1) for the jitter. @default Math.random */
  random?: () => number;
  /** Schedules a backoff delay; returns a cancel function. @default setTimeout */
  schedule?: (fn: () => void, ms: number) => () => void;
  /**
   * Fast path: every text frame as it arrives, before it is parsed. The client still parses it to
   * track `seq`; this only spares a listener from re-encoding. With the lean transport the buffer is
   * a view of a shared read buffer, valid only during the call: copy what must be kept.
   */
  onFrame?: (data: Buffer, receivedAt: number) => void;
  /**
   * Fast path: parses a text frame in place of `decodeServerMessage`, and must return (or throw) what
   * it would, keeping no reference to the buffer (with the lean transport it is a view of a shared
   * read buffer). The load tester passes one shared decoder (createSharedDecoder) to all its connections,
   * so a broadcast is parsed once per thread, not once per socket. Messages may then be shared and
   * frozen. @default decodeServerMessage
   */
  decode?: (data: Buffer) => ServerMessage | undefined;
}

export type ClientState =
  | { state: 'idle' }
  | { state: 'connecting'; attempt: number }
  | { state: 'open'; attempt: number }
  | {
      state: 'reconnecting';
      /** 1-based retry number. */
      attempt: number;
      /** maxRetries; 0 = forever. */
      max: number;
      delayMs: number;
      /** Why the last connection ended or failed. */
      reason: string;
      closeCode?: number;
    }
  | { state: 'closed'; error?: BugzappError };

export type ClientStateName = ClientState['state'];

export interface ConnectionInfo {
  connectionId: string | undefined;
  userId: string | undefined;
  rateLimit: RateLimitInfo | undefined;
  cursor: string | undefined;
  serverTime: string | undefined;
  /** The `since` this connection was opened with, if any. */
  since: string | undefined;
  /** How many connections this client has had, this one included. */
  connections: number;
}

export interface ReceivedEvent {
  event: LoggedEvent;
  receivedAt: number;
}

export interface ClientEvents {
  /** Every decoded server message (duplicates excluded), with its receive time. */
  message: [message: ServerMessage, receivedAt: number];
  /** A bug_report, comment or notification event (duplicates excluded). */
  event: [event: LoggedEvent, receivedAt: number];
  /** A connection_established arrived. */
  connected: [info: ConnectionInfo];
  /** No frame from the server for `silentMs` (over heartbeat + grace): the connection is cut and resumed. */
  'line-lost': [info: { silentMs: number; limitMs: number }];
  state: [state: ClientState];
  /** A resumed connection replayed `replayed` events the client had missed. */
  resumed: [info: { replayed: number; since: string }];
  /** The server no longer holds `since`: events were lost; re-fetch state over REST. */
  'resume-window-exceeded': [info: { since: string; oldest: string | undefined }];
  /** The server sends no cursor and no seq: reconnects are plain, without resume (told once). */
  'resume-unsupported': [];
  /** An event the client already had, dropped. */
  duplicate: [event: LoggedEvent];
  /** A frame that is not a valid server message; ignored. */
  'protocol-error': [error: ProtocolError];
  /** Fatal: emitted only when there is a listener (the client never throws through the emitter). */
  error: [error: BugzappError];
}

interface Resolved {
  wsUrl: string;
  transport: TransportKind;
  localAddress: string | undefined;
  handshakeTimeout: number;
  token: TokenProvider;
  maxRetries: number;
  backoff: { baseMs: number; capMs: number };
  resume: boolean;
  dedupeWindow: number;
  replayWaitMs: number;
  establishWaitMs: number;
  watchLine: boolean;
  heartbeatMs: number;
  heartbeatGraceMs: number | undefined;
  wsOptions: WsClientOptions;
  clock: () => number;
  random: () => number;
  schedule: (fn: () => void, ms: number) => () => void;
  onFrame: ((data: Buffer, receivedAt: number) => void) | undefined;
  decode: (data: Buffer) => ServerMessage | undefined;
}

function checkInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidOptionError(name, `expected an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

const defaultSchedule = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export function resolveClientOptions(input: BugzappClientOptions): Resolved {
  if (!input || typeof input.url !== 'string') throw new InvalidOptionError('url', 'required');
  const wsUrl = resolveWsUrl(input.url);
  if (input.token !== undefined && input.tokenProvider !== undefined) {
    throw new InvalidOptionError('token', 'give either token or tokenProvider, not both');
  }
  let token: TokenProvider;
  if (input.tokenProvider) token = input.tokenProvider;
  else if (typeof input.token === 'string' && input.token.length > 0) {
    const t = input.token;
    token = () => t;
  } else throw new InvalidOptionError('token', 'a token or a tokenProvider is required');
  const handshakeTimeout = checkInt('handshakeTimeout', input.handshakeTimeout ?? 10_000, 1);
  const transport = input.transport ?? 'ws';
  if (transport !== 'ws' && transport !== 'lean') throw new InvalidOptionError('transport', `expected 'ws' or 'lean', got ${String(transport)}`);
  if (transport === 'lean' && !wsUrl.startsWith('ws://')) {
    throw new InvalidOptionError('transport', `the lean transport speaks ws:// only, not ${wsUrl}`);
  }
  return {
    wsUrl,
    transport,
    localAddress: input.localAddress,
    handshakeTimeout,
    token,
    maxRetries: checkInt('maxRetries', input.maxRetries ?? 5, 0),
    backoff: {
      baseMs: checkInt('backoffBaseMs', input.backoffBaseMs ?? BACKOFF_DEFAULTS.baseMs, 0),
      capMs: checkInt('backoffCapMs', input.backoffCapMs ?? BACKOFF_DEFAULTS.capMs, 0),
    },
    resume: input.resume ?? true,
    dedupeWindow: checkInt('dedupeWindow', input.dedupeWindow ?? 256, 0),
    replayWaitMs: checkInt('replayWaitMs', input.replayWaitMs ?? 1000, 0),
    establishWaitMs: checkInt('establishWaitMs', input.establishWaitMs ?? 1000, 0),
    watchLine: input.watchLine ?? true,
    heartbeatMs: checkInt('heartbeatMs', input.heartbeatMs ?? 30_000, 1),
    heartbeatGraceMs: input.heartbeatGraceMs === undefined ? undefined : checkInt('heartbeatGraceMs', input.heartbeatGraceMs, 0),
    wsOptions: { ...input.wsOptions },
    clock: input.clock ?? Date.now,
    random: input.random ?? Math.random,
    schedule: input.schedule ?? defaultSchedule,
    onFrame: input.onFrame,
    decode: input.decode ?? decodeServerMessage,
  };
}

/** Create a client; it connects on `connect()`. */
export function createClient(options: BugzappClientOptions): BugzappClient {
  return new BugzappClient(options);
}

export class BugzappClient extends EventEmitter<ClientEvents> {
  /** Where every connection of every client reports (one object: a connection costs no closures). */
  private static readonly sink: TransportSink<BugzappClient> = {
    open: (c, t) => c.onOpen(t),
    text: (c, t, data) => {
      if (c.t !== t) return;
      if (c.line) c.line.heard = true;
      c.receive(data);
    },
    heard: (c, t) => {
      if (c.t === t && c.line) c.line.heard = true;
    },
    refused: (c, t, status, body) => c.onRefused(t, status, body),
    closed: (c, t, code, reason, error) => c.onClosed(t, code, reason, error),
  };

  private readonly o: Resolved;
  private t: Transport | undefined;
  /** Waiting for the open connection to close (close()). */
  private closeWaiter: (() => void) | undefined;
  private stateValue: ClientState = { state: 'idle' };
  private stopped = false;
  private started = false;
  /** Consecutive failed attempts since the last open. */
  private attempt = 0;
  private cancelTimer: (() => void) | undefined;
  private connectWaiter: { resolve: (i: ConnectionInfo) => void; reject: (e: Error) => void } | undefined;
  private connectPromise: Promise<ConnectionInfo> | undefined;
  private endWaiters: ((r: { error?: BugzappError }) => void)[] = [];
  private endResult: { error?: BugzappError } | undefined;
  private iterators: Set<EventIterator> | undefined;

  // resume bookkeeping
  private position: string | undefined;
  private readonly seen: SeqRing;
  private dedupe: Set<string> | undefined;
  private dedupeLeft = 0;
  private toldUnsupported = false;
  private replay: { since: string; cursor: string; count: number; cancel: (() => void) | undefined } | undefined;
  private sentSince: string | undefined;
  /** The open connection has had its connection_established (or was treated as if). */
  private established = false;
  /**
   * Treated as established because establishWaitMs ran out with nothing received: a slow server's
   * connection_established may still come, and its cursor still counts.
   */
  private establishedByWait = false;
  private cancelEstablishWait: (() => void) | undefined;
  /** The open connection's entry in the line watch. */
  private line: WatchedLine | undefined;
  /** Set when the line watch cut the connection: how long it was silent. */
  private lineLostMs: number | undefined;

  /** seq of the newest event received. */
  lastSeq: string | undefined;
  /** From the newest connection_established. */
  connectionId: string | undefined;
  userId: string | undefined;
  rateLimit: RateLimitInfo | undefined;
  cursor: string | undefined;
  /** The `tag` option. */
  readonly tag: number;
  /** Connections opened so far. */
  connections = 0;
  /** Events dropped as duplicates so far. */
  duplicates = 0;
  /** The heartbeat interval the server advertised (heartbeat_ms), if it did. */
  heartbeatMs: number | undefined;
  /** False once a connection_established without a cursor came (the guide's server). */
  resumeSupported: boolean | undefined;

  constructor(options: BugzappClientOptions) {
    super();
    this.o = resolveClientOptions(options);
    this.tag = options.tag ?? 0;
    this.position = options.since;
    this.seen = new SeqRing(this.o.dedupeWindow);
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** The WebSocket URL without query. */
  get url(): string {
    return this.o.wsUrl;
  }

  /** True while a connection is open. */
  get isOpen(): boolean {
    return this.t !== undefined && this.t.isOpen;
  }

  /**
   * Start connecting. Resolves at the first connection_established (the client then keeps itself
   * connected); rejects with AuthError ERR_AUTH_REFUSED, ClientError ERR_RETRIES_EXHAUSTED, ERR_CLOSED
   * or ERR_CONNECT_FAILED.
   */
  connect(): Promise<ConnectionInfo> {
    if (this.connectPromise) return this.connectPromise;
    if (this.endResult) {
      return Promise.reject(this.endResult.error ?? new ClientError('ERR_CLOSED', 'the client is closed'));
    }
    this.connectPromise = new Promise<ConnectionInfo>((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
    });
    if (!this.started) {
      this.started = true;
      void this.open();
    }
    return this.connectPromise;
  }

  /** Resolves once the client has stopped for good: `error` set when it stopped on a failure. */
  waitClosed(): Promise<{ error?: BugzappError }> {
    if (this.endResult) return Promise.resolve(this.endResult);
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /** Send a client message through encode(). False when no connection is open. */
  send(msg: ClientMessage): boolean {
    const t = this.t;
    if (!t || !t.isOpen) return false;
    t.send(encode(msg));
    return true;
  }

  /** Events as an async iterator; it ends when the client closes and throws a fatal error. */
  events(): AsyncIterableIterator<ReceivedEvent> {
    const it = new EventIterator(() => this.iterators?.delete(it));
    if (this.endResult) it.end(this.endResult.error);
    else (this.iterators ??= new Set()).add(it);
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedEvent> {
    return this.events();
  }

  /**
   * Cut the open connection abruptly, as a network drop does: the socket is destroyed with no close
   * frame, and the client reconnects with backoff and resumes as after any drop. False when none is open.
   */
  dropLink(): boolean {
    const t = this.t;
    if (!t || !t.isOpen || this.stopped) return false;
    t.terminate();
    return true;
  }

  /**
   * Stop reading the open connection's socket, as a slow consumer does: what the server sends waits in
   * its buffers and the kernel's. The line is not watched meanwhile (the silence is the client's own).
   * A close while paused is seen only once it reads again. False when no connection is open.
   */
  pauseReading(): boolean {
    const t = this.t;
    if (!t || !t.isOpen || this.stopped) return false;
    this.unwatchLine();
    t.pause();
    return true;
  }

  /** Read the socket again after pauseReading(), and watch the line again. False when it was not paused. */
  resumeReading(): boolean {
    const t = this.t;
    if (!t || !t.isPaused) return false;
    t.resume();
    if (t.isOpen) this.watchLine(t, this.heartbeatMs ?? this.o.heartbeatMs);
    return true;
  }

  /** Stop: no more reconnects; closes the open connection with 1000. */
  async close(): Promise<void> {
    if (this.endResult) return;
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.unwatchLine();
    const t = this.t;
    if (t) {
      if (t.isOpen) {
        const closed = new Promise<void>((resolve) => (this.closeWaiter = resolve));
        t.close(CloseCode.Normal);
        // the server answers the close frame; a server that does not is cut off after a grace
        const cancel = this.o.schedule(() => t.terminate(), 2000);
        await closed;
        cancel();
      } else {
        this.t = undefined;
        t.terminate();
      }
    }
    this.finish(undefined);
  }

  // --- connection lifecycle -------------------------------------------------------------------

  private setState(state: ClientState): void {
    this.stateValue = state;
    this.emit('state', state);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    this.setState({ state: 'connecting', attempt: this.attempt });
    let token: string;
    try {
      const t = this.o.token();
      token = typeof t === 'string' ? t : await t;
    } catch (err) {
      this.fail(
        err instanceof BugzappError ? err : new AuthError('ERR_AUTH_MISSING_TOKEN', `token provider failed: ${errText(err)}`, { cause: err }),
      );
      return;
    }
    if (this.stopped) return;
    const since = this.o.resume ? this.position : undefined;
    this.sentSince = since;
    let url = `${this.o.wsUrl}?token=${encodeURIComponent(token)}`;
    if (since !== undefined && this.resumeSupported !== false) url += `&since=${encodeURIComponent(since)}`;
    else this.sentSince = undefined;
    const options = { url, localAddress: this.o.localAddress, handshakeTimeout: this.o.handshakeTimeout };
    try {
      this.t =
        this.o.transport === 'lean'
          ? new LeanTransport(options, BugzappClient.sink, this)
          : new WsTransport(options, this.o.wsOptions, BugzappClient.sink, this);
    } catch (err) {
      this.fail(new ClientError('ERR_CONNECT_FAILED', `cannot connect to ${this.o.wsUrl}: ${errText(err)}`, { cause: err }));
      return;
    }
  }

  private onOpen(t: Transport): void {
    if (this.t !== t) return;
    // the retry count resets at connection_established, not here: a server that accepts and then
    // closes at once (1011 while its backend is down) must still exhaust maxRetries
    this.connections++;
    this.established = false;
    this.establishedByWait = false;
    this.cancelEstablishWait = this.o.schedule(() => {
      this.cancelEstablishWait = undefined;
      if (this.t === t && !this.established) {
        this.onEstablished(undefined);
        this.establishedByWait = true;
      }
    }, this.o.establishWaitMs);
    this.watchLine(t, this.o.heartbeatMs);
    this.setState({ state: 'open', attempt: this.attempt });
  }

  private onRefused(t: Transport, status: number, body: string): void {
    if (this.t !== t || this.stopped) return;
    this.t = undefined;
    this.onHandshakeRefused(status, body);
  }

  private onClosed(t: Transport, code: number, reason: string, error: Error | undefined): void {
    if (this.t !== t) return;
    this.t = undefined;
    this.unwatchLine();
    const silentMs = this.lineLostMs;
    this.lineLostMs = undefined;
    this.cancelEstablishWait?.();
    this.cancelEstablishWait = undefined;
    this.endReplay();
    if (this.stopped) {
      const w = this.closeWaiter;
      this.closeWaiter = undefined;
      w?.();
      this.finish(undefined);
      return;
    }
    const what =
      silentMs !== undefined
        ? `no frame from the server for ${Math.round(silentMs)} ms: connection taken as lost`
        : code === 1006 && error
          ? error.message
          : `${describeCloseCode(code)} (${code})${reason ? `: ${reason}` : ''}`;
    if (adviseOnClose(code) === 'stop') {
      this.fail(new ClientError('ERR_CLOSED', `the server closed the connection: ${what}`, { closeCode: code }));
      return;
    }
    this.retry(what, code === 1006 ? undefined : code);
  }

  /** Watch `ws` against a heartbeat of `heartbeatMs` (from connection_established once it comes). */
  private watchLine(t: Transport, heartbeatMs: number): void {
    if (!this.o.watchLine) return;
    this.unwatchLine();
    const limitMs = heartbeatMs + (this.o.heartbeatGraceMs ?? Math.max(1000, Math.round(heartbeatMs / 2)));
    const line: WatchedLine = {
      heard: false,
      pingAfterMs: heartbeatMs,
      lostAfterMs: limitMs,
      ping: () => {
        if (this.t === t) t.ping();
      },
      lost: (silentMs) => {
        if (this.line === line) this.line = undefined;
        if (this.t !== t || this.stopped) return;
        this.lineLostMs = silentMs;
        this.emit('line-lost', { silentMs, limitMs });
        // no close handshake with a peer that does not answer: cut it; 'closed' follows and resumes
        t.terminate();
      },
    };
    this.line = line;
    lineWatch.watch(line);
  }

  private unwatchLine(): void {
    if (!this.line) return;
    lineWatch.unwatch(this.line);
    this.line = undefined;
  }

  private onHandshakeRefused(status: number, body: string): void {
    const detail = parseDetail(body);
    if (status === 401 || status === 403) {
      this.fail(
        new AuthError(
          'ERR_AUTH_REFUSED',
          `the server refused the token (HTTP ${status}${detail ? `: ${detail}` : ''})`,
        ),
      );
      return;
    }
    const what = `handshake answered with HTTP ${status}${detail ? `: ${detail}` : ''}`;
    if (status >= 500 || status === 408 || status === 429) this.retry(what, undefined);
    else this.fail(new ClientError('ERR_CONNECT_FAILED', `cannot open ${this.o.wsUrl}: ${what}`));
  }

  private retry(reason: string, closeCode: number | undefined): void {
    this.attempt++;
    const max = this.o.maxRetries;
    if (max > 0 && this.attempt > max) {
      this.fail(
        new ClientError('ERR_RETRIES_EXHAUSTED', `gave up after ${max} ${max === 1 ? 'retry' : 'retries'}; last: ${reason}`, {
          ...(closeCode !== undefined ? { closeCode } : {}),
        }),
      );
      return;
    }
    const delayMs = computeBackoff(this.attempt, this.o.backoff, this.o.random);
    this.setState({
      state: 'reconnecting',
      attempt: this.attempt,
      max,
      delayMs,
      reason,
      ...(closeCode !== undefined ? { closeCode } : {}),
    });
    this.cancelTimer = this.o.schedule(() => {
      this.cancelTimer = undefined;
      void this.open();
    }, delayMs);
  }

  private fail(error: BugzappError): void {
    this.stopped = true;
    this.unwatchLine();
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.cancelEstablishWait?.();
    this.cancelEstablishWait = undefined;
    const t = this.t;
    this.t = undefined;
    t?.terminate();
    this.endReplay();
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.finish(error);
  }

  private finish(error: BugzappError | undefined): void {
    if (this.endResult) return;
    this.endResult = error ? { error } : {};
    // a close() waiting for its connection to end stops waiting when the client ends another way
    const w = this.closeWaiter;
    this.closeWaiter = undefined;
    w?.();
    this.setState(error ? { state: 'closed', error } : { state: 'closed' });
    if (this.connectWaiter) {
      this.connectWaiter.reject(error ?? new ClientError('ERR_CLOSED', 'the client was closed before it connected'));
      this.connectWaiter = undefined;
    }
    for (const w of this.endWaiters) w(this.endResult);
    this.endWaiters = [];
    if (this.iterators) for (const it of this.iterators) it.end(error);
    this.iterators = undefined;
  }

  // --- messages -------------------------------------------------------------------------------

  private receive(data: Buffer): void {
    const receivedAt = this.o.clock();
    this.o.onFrame?.(data, receivedAt);
    let msg: ServerMessage | undefined;
    try {
      msg = this.o.decode(data);
    } catch (err) {
      if (err instanceof ProtocolError) this.emit('protocol-error', err);
      return;
    }
    if (!msg) return;
    // a server that never sends connection_established: its first message stands in for it
    if (msg.type !== 'connection_established') {
      if (!this.established) this.onEstablished(undefined);
      this.establishedByWait = false;
    }
    switch (msg.type) {
      case 'bug_report':
      case 'comment':
      case 'notification':
        this.onEvent(msg, receivedAt);
        return;
      case 'connection_established':
        this.onEstablished(msg.payload);
        break;
      case 'error':
        if (msg.payload.message === ErrorText.ResumeWindowExceeded) this.onWindowExceeded(msg.payload.oldest);
        break;
      default:
        break;
    }
    this.emit('message', msg, receivedAt);
  }

  private onEstablished(payload: Extract<ServerMessage, { type: 'connection_established' }>['payload']): void {
    this.connectionId = payload?.connection_id;
    this.userId = payload?.user_id;
    this.rateLimit = payload?.rate_limit;
    const heartbeatMs = payload?.heartbeat_ms;
    if (typeof heartbeatMs === 'number' && Number.isInteger(heartbeatMs) && heartbeatMs > 0) {
      this.heartbeatMs = heartbeatMs;
      if (this.t && this.line) this.watchLine(this.t, heartbeatMs);
    }
    const cursor = seqOf(payload?.cursor);
    if (this.established) {
      // a late connection_established after the wait: its details are taken above; when it is still
      // the first message, its cursor too (a slow server does resume: it must not be taken for one that cannot)
      if (this.establishedByWait && cursor !== undefined) {
        this.establishedByWait = false;
        this.takeCursor(cursor);
      }
      return;
    }
    this.established = true;
    this.attempt = 0;
    this.cancelEstablishWait?.();
    this.cancelEstablishWait = undefined;
    if (cursor === undefined) {
      this.cursor = undefined;
      this.resumeSupported = false;
      if (this.o.resume && !this.toldUnsupported) {
        this.toldUnsupported = true;
        this.emit('resume-unsupported');
      }
    } else {
      this.takeCursor(cursor);
    }
    const info: ConnectionInfo = {
      connectionId: this.connectionId,
      userId: this.userId,
      rateLimit: this.rateLimit,
      cursor,
      serverTime: payload?.server_time,
      since: this.sentSince,
      connections: this.connections,
    };
    if (this.connectWaiter) {
      this.connectWaiter.resolve(info);
      this.connectWaiter = undefined;
    }
    this.emit('connected', info);
  }

  /** The connection's cursor: where a fresh start resumes from, or where the replay of `since` ends. */
  private takeCursor(cursor: string): void {
    this.cursor = cursor;
    this.resumeSupported = true;
    const since = this.sentSince;
    if (since === undefined) {
      // a fresh start: anything after the cursor is what a later resume must ask for
      this.position = cursor;
    } else if (since === cursor) {
      this.emit('resumed', { replayed: 0, since });
    } else {
      this.dedupe = this.seen.toSet();
      this.dedupeLeft = this.o.dedupeWindow;
      const replay: { since: string; cursor: string; count: number; cancel: (() => void) | undefined } = {
        since,
        cursor,
        count: 0,
        cancel: undefined,
      };
      this.replay = replay;
      replay.cancel = this.o.schedule(() => {
        replay.cancel = undefined;
        if (this.replay === replay) this.endReplay(true);
      }, this.o.replayWaitMs);
    }
  }

  private onWindowExceeded(oldest: string | undefined): void {
    const since = this.sentSince ?? this.position ?? '';
    this.endReplay();
    // the server continues with live events from its cursor on
    if (this.cursor !== undefined) this.position = this.cursor;
    this.emit('resume-window-exceeded', { since, oldest });
  }

  /** Close the replay phase; `report` emits `resumed` with the count so far. */
  private endReplay(report = false): void {
    const r = this.replay;
    if (!r) return;
    this.replay = undefined;
    r.cancel?.();
    if (report) this.emit('resumed', { replayed: r.count, since: r.since });
  }

  private onEvent(event: LoggedEvent, receivedAt: number): void {
    const seq = seqOf(event.seq);
    if (seq !== undefined) {
      if (seq === this.lastSeq || (this.dedupe !== undefined && this.dedupe.has(seq))) {
        this.duplicates++;
        this.tickDedupe();
        this.emit('duplicate', event);
        return;
      }
      this.tickDedupe();
      const r = this.replay;
      let replayEndsHere = false;
      if (r) {
        if (seq === r.cursor) {
          r.count++;
          replayEndsHere = true;
        } else {
          const order = guessSeqOrder(seq, r.cursor);
          if (order !== undefined && order > 0) this.endReplay(true);
          else r.count++;
        }
      }
      this.seen.push(seq);
      this.lastSeq = seq;
      this.position = seq;
      this.deliver(event, receivedAt);
      if (replayEndsHere) this.endReplay(true);
      return;
    }
    this.deliver(event, receivedAt);
  }

  private tickDedupe(): void {
    if (this.dedupe !== undefined && --this.dedupeLeft <= 0) this.dedupe = undefined;
  }

  private deliver(event: LoggedEvent, receivedAt: number): void {
    this.emit('message', event, receivedAt);
    this.emit('event', event, receivedAt);
    if (this.iterators) for (const it of this.iterators) it.push({ event, receivedAt });
  }
}

/**
 * A seq or cursor as the client keeps it: a string (a number is taken as its decimal string); any
 * other value from a server is ignored, never compared or sent back.
 */
function seqOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseDetail(body: string): string | undefined {
  if (!body) return undefined;
  try {
    const v = JSON.parse(body) as unknown;
    if (v && typeof v === 'object' && 'detail' in v) {
      const d = (v as { detail: unknown }).detail;
      return typeof d === 'string' ? d : JSON.stringify(d);
    }
  } catch {
    // not JSON: show the text
  }
  return body.slice(0, 200);
}
