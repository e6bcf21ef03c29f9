// One WebSocket connection's life: register, connection_established, resume (replay then live),
// client messages under the rate limit, and the open/close log lines.
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { decodeClientMessage, ErrorCode, ErrorText } from '../protocol/index.ts';
import type { EventEngine, PublishedEvent, RateLimiter, ReadSinceResult } from './backends.ts';
import { Connection, type Hub } from './hub.ts';
import type { Housekeeper } from './heartbeat.ts';
import type { ServerMetrics } from './metrics.ts';

export interface ConnectionContext {
  hub: Hub;
  engine: EventEngine;
  rateLimiter: RateLimiter;
  metrics: ServerMetrics;
  housekeeper: Housekeeper;
  logger: Logger;
  clock: () => number;
  /** Advertised in connection_established: clients watch the line against it. */
  heartbeatIntervalMs: number;
  /** Monotonic milliseconds, for the rate window. */
  monotonicClock: () => number;
  rateLimit: { max: number; windowMs: number };
  /** Advertised in connection_established (protocol 1.1). */
  limits: { maxMessageBytes: number; historySize: number };
  slowConsumerLimit: number;
  nextConnectionId: () => string;
  /** Notified when a connection opens and closes (RunningServer.events). */
  emit: (event: 'connection' | 'disconnect', conn: Connection, detail?: { code: number; reason: string }) => void;
}

export interface Handshake {
  userId: string;
  exp: number;
  /** The `since` query parameter, when the client asked to resume. */
  since: string | undefined;
}

export function openConnection(ctx: ConnectionContext, ws: WebSocket, hs: Handshake): Connection {
  const id = ctx.nextConnectionId();
  const conn = new Connection(id, hs.userId, hs.exp, ws, ctx.logger);
  const log = ctx.logger;
  // registered before the log is read: live events queue up until the replay is done
  ctx.hub.add(conn);
  ctx.housekeeper.wheel.add(conn);
  ctx.metrics.activeConnections.inc();
  log.info({ conn: id, user: hs.userId, since: hs.since }, 'connection opened');
  ctx.emit('connection', conn);

  ws.on('pong', () => {
    conn.alive = true;
  });
  ws.on('message', (data, isBinary) => onMessage(ctx, conn, data as Buffer, isBinary));
  ws.on('error', (err: Error & { code?: string }) => {
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      ctx.metrics.invalidMessages.inc({ reason: 'too_big' });
      conn.closeReason = 'message too big';
    } else {
      // a frame ws refuses (bad UTF-8, opcode, masking...): ws closes with 1002/1007 itself
      if (err.code?.startsWith('WS_ERR_')) ctx.metrics.invalidMessages.inc({ reason: 'protocol_error' });
      conn.log.warn({ err: err.message, code: err.code }, 'socket error');
    }
  });
  ws.on('close', (code, reasonBuf) => {
    conn.queue = null; // a replay still in flight stops here
    ctx.hub.remove(conn);
    ctx.housekeeper.wheel.remove(conn);
    ctx.metrics.activeConnections.dec();
    const reason = conn.closeReason ?? reasonBuf.toString();
    log.info({ conn: id, user: conn.userId, code, reason }, 'connection closed');
    ctx.emit('disconnect', conn, { code, reason });
  });

  if (ctx.housekeeper.isExpired(conn)) ctx.housekeeper.expire(conn);
  else {
    // read nothing from the client until connection_established is out, so it is always first
    ws.pause();
    void start(ctx, conn, hs.since);
  }
  return conn;
}

async function start(ctx: ConnectionContext, conn: Connection, since: string | undefined): Promise<void> {
  const { hub, engine } = ctx;
  try {
    const cursor = await engine.cursor();
    if (conn.queue === null) {
      // closed meanwhile: read on, or the peer's answer to our close frame is never seen
      conn.ws.resume();
      return;
    }
    hub.sendMessage(conn, {
      type: 'connection_established',
      payload: {
        user_id: conn.userId,
        connection_id: conn.id,
        server_time: new Date(ctx.clock()).toISOString(),
        rate_limit: { max: ctx.rateLimit.max, window_ms: ctx.rateLimit.windowMs },
        cursor,
        max_message_bytes: ctx.limits.maxMessageBytes,
        history_size: ctx.limits.historySize,
        heartbeat_ms: ctx.heartbeatIntervalMs,
      },
    });
    conn.ws.resume();
    // without `since` the client gets exactly the events after `cursor`
    let after = cursor;
    if (since !== undefined) {
      let result: ReadSinceResult;
      try {
        result = await engine.readSince(since, conn.userId);
      } catch (err) {
        if (engine.isValidSeq(since)) throw err;
        result = { kind: 'window_exceeded', oldest: cursor };
      }
      if (conn.queue === null) return;
      if (result.kind === 'window_exceeded') {
        ctx.metrics.resumes.inc({ outcome: 'window_exceeded' });
        hub.sendMessage(conn, {
          type: 'error',
          payload: { message: ErrorText.ResumeWindowExceeded, code: ErrorCode.ResumeWindowExceeded, oldest: result.oldest },
        });
      } else {
        ctx.metrics.resumes.inc({ outcome: 'ok' });
        after = since;
        if (!(await replay(ctx, conn, result.events))) return;
        const last = result.events[result.events.length - 1];
        if (last) after = last.seq;
      }
    }
    const queue = conn.queue;
    if (queue === null) return;
    // go live: queued events not already replayed, then straight fan-out (synchronously, no gap)
    conn.queue = null;
    conn.queuedBytes = 0;
    for (const event of queue) if (engine.compareSeq(event.seq, after) > 0) hub.sendFrame(conn, event);
  } catch (err) {
    conn.log.error({ err }, 'connection start failed');
    hub.close(conn, 1011, 'internal error');
    conn.ws.resume(); // let the close handshake be read
  }
}

/** Send replayed events, waiting for the socket to drain when it fills (a long replay is not a slow consumer). */
async function replay(ctx: ConnectionContext, conn: Connection, events: PublishedEvent[]): Promise<boolean> {
  const high = ctx.slowConsumerLimit / 2;
  for (const event of events) {
    if (conn.queue === null) return false;
    if (conn.ws.bufferedAmount >= high) {
      await new Promise<void>((resolve) => ctx.hub.sendFrame(conn, event, () => resolve()));
    } else {
      ctx.hub.sendFrame(conn, event);
    }
  }
  return conn.queue !== null;
}

function onMessage(ctx: ConnectionContext, conn: Connection, data: Buffer, isBinary: boolean): void {
  // every frame counts against the limit, valid or not (protocol.md section 5)
  const passed = ctx.rateLimiter.hit(conn.userId, ctx.monotonicClock());
  if (passed === true) handleMessage(ctx, conn, data, isBinary);
  else if (passed === false) refuseRateLimited(ctx, conn);
  else {
    passed.then(
      (ok) => (ok ? handleMessage(ctx, conn, data, isBinary) : refuseRateLimited(ctx, conn)),
      (err: unknown) => conn.log.error({ err }, 'rate limiter failed'),
    );
  }
}

function refuseRateLimited(ctx: ConnectionContext, conn: Connection): void {
  ctx.metrics.rateLimited.inc();
  ctx.hub.sendMessage(conn, { type: 'error', payload: { message: ErrorText.RateLimitExceeded, code: ErrorCode.RateLimited } });
}

function handleMessage(ctx: ConnectionContext, conn: Connection, data: Buffer, isBinary: boolean): void {
  if (isBinary) {
    ctx.metrics.invalidMessages.inc({ reason: 'binary' });
    ctx.hub.sendMessage(conn, { type: 'error', payload: { message: ErrorText.InvalidMessageFormat, code: ErrorCode.InvalidMessage } });
    return;
  }
  const decoded = decodeClientMessage(data);
  if (!decoded.ok) {
    ctx.metrics.invalidMessages.inc({ reason: decoded.kind });
    ctx.hub.sendMessage(conn, { type: 'error', payload: { message: decoded.error, code: decoded.code } });
    return;
  }
  switch (decoded.message.type) {
    case 'ping':
      ctx.hub.sendMessage(conn, { type: 'pong' });
      break;
  }
}
