// The registry of open connections and the fan-out hot path. Each event arrives encoded once
// (PublishedEvent.frame); the same bytes go to every recipient with no await and no per-recipient
// serialization. Notifications reach only the connections of their one user.
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { CloseCode, encode, type ServerMessage } from '../protocol/index.ts';
import type { PublishedEvent } from './backends.ts';
import type { ServerMetrics } from './metrics.ts';
import { buildTextFrame, directSocket, supportsDirectWrite } from './wire-frame.ts';

/** Text frames, no compression: ws frames the shared buffer without copying it. */
export const SEND_OPTIONS = { binary: false, compress: false, fin: true } as const;

export class Connection {
  /**
   * Live events that arrived while the log was being replayed, in log order; `null` once live.
   * Registering before reading the log and filtering this queue afterwards is what makes the seam
   * between replay and live events gapless and duplicate-free.
   */
  queue: PublishedEvent[] | null = [];
  queuedBytes = 0;
  /** Answered the last ping. */
  alive = true;
  /** performance.now() when the server started closing this socket; 0 while it is open. */
  closingSince = 0;
  /**
   * performance.now() when the sweep first found its close frame sent (nothing left unsent); 0 before. The
   * close grace counts from here: a peer that was not reading gets its full grace once it reads again.
   */
  closeSentAt = 0;
  /** Why the server closed it, for the close log line. */
  closeReason: string | undefined;
  /** Pre-built frames may be written straight to its socket (see wire-frame.ts). */
  readonly direct: boolean;

  private childLogger: Logger | undefined;

  constructor(
    readonly id: string,
    readonly userId: string,
    /** Token expiry, seconds since the epoch. */
    readonly exp: number,
    readonly ws: WebSocket,
    private readonly rootLogger: Logger,
  ) {
    this.direct = supportsDirectWrite(ws);
  }

  /** This connection's child logger, made on first use: idle connections hold none (RSS per connection). */
  get log(): Logger {
    return (this.childLogger ??= this.rootLogger.child({ conn: this.id, user: this.userId }));
  }
}

export class Hub {
  /** Every connection until its socket closes (heartbeat, expiry, shutdown walk this). */
  readonly all = new Set<Connection>();
  /** Connections that receive broadcasts: leaves it as soon as the server starts closing it. */
  private readonly receivers = new Set<Connection>();
  private readonly byUser = new Map<string, Set<Connection>>();
  /** Connections the server is closing; the sweep terminates those that linger. */
  readonly closing = new Set<Connection>();

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly slowConsumerLimit: number,
    /** Told when a connection is closed as a slow consumer (RunningServer.events). */
    private readonly onSlowConsumer: (conn: Connection) => void = () => undefined,
  ) {}

  get size(): number {
    return this.all.size;
  }

  add(conn: Connection): void {
    this.all.add(conn);
    this.receivers.add(conn);
    let set = this.byUser.get(conn.userId);
    if (!set) {
      set = new Set();
      this.byUser.set(conn.userId, set);
    }
    set.add(conn);
  }

  /** Stop sending to `conn` (it is closing or closed). */
  private detach(conn: Connection): void {
    this.receivers.delete(conn);
    const set = this.byUser.get(conn.userId);
    if (set) {
      set.delete(conn);
      if (set.size === 0) this.byUser.delete(conn.userId);
    }
  }

  /** The socket closed: forget it entirely. */
  remove(conn: Connection): void {
    this.detach(conn);
    this.all.delete(conn);
    this.closing.delete(conn);
  }

  /** The engine's listener: called synchronously, in log order, for every event. */
  deliver(event: PublishedEvent): void {
    const recipients = event.target === null ? this.receivers : this.byUser.get(event.target);
    if (!recipients || recipients.size === 0) return;
    // the wire frame is built once per event, never per recipient
    const wire = buildTextFrame(event.frame);
    let sent = 0;
    for (const conn of recipients) if (this.push(conn, event, wire)) sent++;
    if (sent > 0) this.metrics.messagesSent.inc({ type: event.type }, sent);
  }

  /** Hand one event to one connection: queue it while replaying, else write the shared bytes. */
  private push(conn: Connection, event: PublishedEvent, wire: Buffer): boolean {
    if (conn.queue !== null) {
      conn.queue.push(event);
      conn.queuedBytes += event.frame.length;
      if (conn.queuedBytes > this.slowConsumerLimit) this.closeSlow(conn);
      return false;
    }
    const ws = conn.ws;
    if (ws.readyState !== WebSocket.OPEN) return false;
    const socket = conn.direct ? directSocket(ws) : undefined;
    let buffered: number;
    if (socket) {
      socket.write(wire);
      buffered = socket.writableLength;
    } else {
      ws.send(event.frame, SEND_OPTIONS);
      buffered = ws.bufferedAmount;
    }
    if (buffered > this.slowConsumerLimit) this.closeSlow(conn);
    return true;
  }

  /** Send one already-logged frame to one connection (replay), with the slow-consumer check. */
  sendFrame(conn: Connection, event: PublishedEvent, cb?: () => void): boolean {
    const ws = conn.ws;
    if (ws.readyState !== WebSocket.OPEN || conn.closingSince !== 0) {
      cb?.();
      return false;
    }
    ws.send(event.frame, SEND_OPTIONS, cb);
    this.metrics.messagesSent.inc({ type: event.type });
    if (ws.bufferedAmount > this.slowConsumerLimit) this.closeSlow(conn);
    return true;
  }

  /**
   * Send a message that is not in the log (connection_established, pong, error), with the
   * slow-consumer check: a client that floods requests and never reads the answers is closed, not
   * buffered for without bound.
   */
  sendMessage(conn: Connection, msg: ServerMessage): void {
    const ws = conn.ws;
    if (ws.readyState !== WebSocket.OPEN || conn.closingSince !== 0) return;
    ws.send(encode(msg));
    this.metrics.messagesSent.inc({ type: msg.type });
    if (ws.bufferedAmount > this.slowConsumerLimit) this.closeSlow(conn);
  }

  private closeSlow(conn: Connection): void {
    if (conn.closingSince !== 0) return;
    this.metrics.slowConsumerDisconnects.inc();
    conn.log.warn({ bufferedAmount: conn.ws.bufferedAmount, queuedBytes: conn.queuedBytes }, 'slow consumer');
    this.close(conn, CloseCode.SlowConsumer, 'slow consumer');
    this.onSlowConsumer(conn);
  }

  /** Start closing `conn` with `code`; nothing more is sent to it; the sweep terminates it if it lingers. */
  close(conn: Connection, code: number, reason: string): void {
    if (conn.closingSince !== 0) return;
    conn.closingSince = performance.now();
    // nothing queued ahead of the close frame: it leaves now, and the grace counts from here
    if (conn.ws.bufferedAmount === 0) conn.closeSentAt = conn.closingSince;
    conn.closeReason = reason;
    conn.queue = null;
    this.detach(conn);
    this.closing.add(conn);
    conn.ws.close(code, reason);
  }

  /**
   * Terminate sockets stuck in closing. A socket whose close frame has left (nothing of ours unsent) gets
   * `graceMs` from then to answer it. One with bytes still unsent has a peer that is not reading (a slow
   * consumer, or one closed for another reason while it had stopped reading): its close frame sits behind them in our buffer, and terminating drops it, so the
   * peer, reading again, would see the connection break (1006) instead of being told why (4008). It is held
   * for up to `stalledGraceMs` from the close (the heartbeat interval: the silence the heartbeat allows an
   * open connection), with no more than it already had buffered; ws's own close timeout (30 s) still caps it.
   */
  sweepClosing(graceMs: number, stalledGraceMs = graceMs, now = performance.now()): void {
    for (const conn of this.closing) {
      const ws = conn.ws;
      if (ws.readyState === WebSocket.CLOSED) {
        this.closing.delete(conn);
        continue;
      }
      const held = now - conn.closingSince < Math.max(graceMs, stalledGraceMs);
      if (ws.bufferedAmount > 0) {
        if (held) continue;
      } else {
        if (conn.closeSentAt === 0) conn.closeSentAt = now;
        if (now - conn.closeSentAt < graceMs && held) continue;
      }
      conn.log.debug({ bufferedAmount: ws.bufferedAmount }, 'terminating a socket stuck in closing');
      ws.terminate();
    }
  }
}
