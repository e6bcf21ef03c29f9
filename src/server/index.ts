// createServer(): the reference BugZapp server of protocol.md, REST on fastify and WebSockets on ws,
// sharing one port. Backends (event log + fan-out, store, rate limiter) are in-memory or injected.
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import { InvalidOptionError } from '../errors.ts';
import { CloseCode } from '../protocol/index.ts';
import type { Backends } from './backends.ts';
import { openConnection, type ConnectionContext } from './connection.ts';
import { Housekeeper } from './heartbeat.ts';
import { buildHttp } from './http.ts';
import { Hub, type Connection } from './hub.ts';
import { createMemoryBackends } from './memory-backends.ts';
import { createMetrics, type ServerMetrics } from './metrics.ts';
import { resolveServeOptions, type ResolvedServeOptions, type ServeOptions } from './options.ts';
import { attachUpgradeHandler } from './upgrade.ts';
import { createRedisBackends } from './redis/index.ts';

export type { ServeOptions, ResolvedServeOptions } from './options.ts';
export { resolveServeOptions, SERVE_DEFAULTS } from './options.ts';
export type { Backends, EventEngine, Store, StoreChange, RateLimiter, PublishedEvent, ReadSinceResult, UnsequencedEvent } from './backends.ts';
export { MemoryEventEngine } from './memory-engine.ts';
export { MemoryStore } from './memory-store.ts';
export { SlidingWindowRateLimiter } from './rate-limiter.ts';
export { createMemoryBackends } from './memory-backends.ts';
export type { Connection } from './hub.ts';

export interface ServerEvents {
  /** A WebSocket connection was registered (before connection_established is sent). */
  connection: [info: ConnectionInfo];
  /** The server started closing a connection with 4008 (its unsent bytes passed the limit). */
  slow_consumer: [info: ConnectionInfo];
  /** A WebSocket connection closed. */
  disconnect: [info: ConnectionInfo & { code: number; reason: string }];
}

export interface ConnectionInfo {
  connectionId: string;
  userId: string;
}

export interface RunningServer {
  /** http://host:port */
  url: string;
  /** ws://host:port/ws */
  wsUrl: string;
  /**
   * http://address:port of the socket as bound (e.g. http://0.0.0.0:8000 for every interface); `url`
   * is the address to connect to on this machine.
   */
  listenUrl: string;
  port: number;
  host: string;
  /** The options in effect. */
  options: ResolvedServeOptions;
  /** Prometheus registry of this server (what /metrics serves). */
  registry: Registry;
  metrics: ServerMetrics;
  backends: Backends;
  /** Connection open/close notifications, for tests and embedding tools. */
  events: EventEmitter<ServerEvents>;
  /** Open WebSocket connections. */
  connectionCount(): number;
  /**
   * Cut one connection the way a crash or a network failure does (no close frame: the client sees
   * 1006 and resumes). For tests and tools; false when no open connection has this id.
   */
  dropConnection(connectionId: string): boolean;
  /**
   * Graceful shutdown: refuse new requests and handshakes, let change requests already running publish,
   * close every socket with 1001, stop fastify, close the backends. Sockets and HTTP requests that have
   * not finished within closeGraceMs are cut, so it ends in about closeGraceMs + 1 s at most. Idempotent.
   */
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function createServer(input: ServeOptions = {}): Promise<RunningServer> {
  const options = resolveServeOptions(input);
  const logger: Logger = options.logger;
  if (options.devSecret) {
    logger.warn('no JWT secret configured: using the built-in development secret (set BUGZAPP_JWT_SECRET or --secret)');
  } else if (Buffer.byteLength(options.secret) < 32) {
    // RFC 7518 3.2: an HS256 key should be at least as long as the hash (256 bits)
    logger.warn({ bytes: Buffer.byteLength(options.secret) }, 'the JWT secret is shorter than 32 bytes: easy to brute-force');
  }
  const metrics = createMetrics();
  const backends =
    options.backends ??
    (options.redisUrl
      ? await createRedisBackends({
          url: options.redisUrl,
          history: options.history,
          rateLimit: options.rateLimit,
          logger,
          registry: metrics.registry,
          clock: options.clock,
        })
      : createMemoryBackends({ history: options.history, rateLimit: options.rateLimit, clock: options.clock }));
  const events = new EventEmitter<ServerEvents>();
  const hub = new Hub(metrics, options.slowConsumerLimit, (conn) => {
    events.emit('slow_consumer', { connectionId: conn.id, userId: conn.userId });
  });
  const housekeeper = new Housekeeper(hub, metrics, {
    tickMs: options.tickMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    closeGraceMs: options.closeGraceMs,
    clock: options.clock,
  });
  backends.engine.onEvent((event) => hub.deliver(event));
  backends.engine.onGap?.((gap) => {
    logger.error({ ...gap, connections: hub.size }, 'live delivery may have skipped events: closing every connection so clients resume');
    const open = [...hub.all].filter((conn) => conn.closingSince === 0);
    metrics.gapDisconnects.inc(open.length);
    for (const conn of open) hub.close(conn, CloseCode.DeliveryGap, gap.reason);
  });

  const instance = randomBytes(3).toString('hex');
  let connectionCounter = 0;
  const ctx: ConnectionContext = {
    hub,
    engine: backends.engine,
    rateLimiter: backends.rateLimiter,
    metrics,
    housekeeper,
    logger,
    clock: options.clock,
    monotonicClock: options.monotonicClock,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    rateLimit: options.rateLimit,
    limits: { maxMessageBytes: options.maxPayload, historySize: options.history },
    slowConsumerLimit: options.slowConsumerLimit,
    nextConnectionId: () => `c-${instance}-${(++connectionCounter).toString(36)}`,
    emit: (name, conn: Connection, detail) => {
      if (events.listenerCount(name) === 0) return;
      const info = { connectionId: conn.id, userId: conn.userId };
      if (name === 'connection') events.emit('connection', info);
      else events.emit('disconnect', { ...info, code: detail?.code ?? 1006, reason: detail?.reason ?? '' });
    },
  };

  const http = buildHttp({
    backends,
    metrics,
    secret: options.secret,
    issuer: options.issuer,
    audience: options.audience,
    clock: options.clock,
    logger,
  });
  const app = http.app;
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: options.maxPayload,
    clientTracking: false,
  });
  let closing = false;
  attachUpgradeHandler(app.server, {
    wss,
    metrics,
    secret: options.secret,
    issuer: options.issuer,
    audience: options.audience,
    clock: options.clock,
    isClosing: () => closing,
    onConnection: (ws, hs) => {
      if (closing) {
        ws.close(CloseCode.GoingAway, 'server shutting down');
        return;
      }
      openConnection(ctx, ws, hs);
    },
  });

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await Promise.allSettled([backends.engine.close(), backends.store.close(), backends.rateLimiter.close()]);
    throw new InvalidOptionError('port', `cannot listen on ${options.host}:${options.port} (${(err as Error).message})`);
  }
  housekeeper.start();
  const port = (app.server.address() as AddressInfo).port;
  const base = `${urlHost(options.host)}:${port}`;
  const bound = app.server.address() as AddressInfo;
  const listenUrl = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${port}`;
  logger.info({ url: `http://${base}`, listening: listenUrl, backend: backends.kind }, 'listening');

  let closePromise: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    closing = true;
    logger.info({ connections: hub.size }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = performance.now() + options.closeGraceMs;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.closeGraceMs);
    });
    // new requests get 503 from here on; those already past their store write publish first, and
    // fan-out is synchronous, so every event answered 2xx is in each socket's buffer ahead of the 1001
    const fastifyClosed = app.close();
    const idle = await Promise.race([http.idle().then(() => true), graceOver.then(() => false)]);
    if (!idle) logger.warn('closing sockets while change requests are still running');
    // a shared log (Redis): events other instances answered 2xx may not have reached this instance's
    // reader yet; read to the head of the log and send them before 1001, within the grace
    if (backends.engine.drain) {
      const left = Math.max(0, deadline - performance.now());
      const drained = left > 0 && (await backends.engine.drain(left));
      if (!drained) logger.warn('closing sockets before this instance delivered the whole event log (close grace over)');
    }
    // resolve on 'close' only: a socket 'error' during shutdown must not reject the wait
    const allClosed = Promise.all(
      [...hub.all].map((conn) =>
        conn.ws.readyState === conn.ws.CLOSED ? undefined : new Promise<void>((resolve) => conn.ws.once('close', () => resolve())),
      ),
    );
    for (const conn of [...hub.all]) hub.close(conn, CloseCode.GoingAway, 'server shutting down');
    await Promise.race([allClosed, graceOver]);
    clearTimeout(timer);
    if (hub.size > 0) {
      for (const conn of [...hub.all]) conn.ws.terminate();
      // terminate() destroys the socket; its 'close' follows within a tick or two
      const settle = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 1000);
      });
      await Promise.race([allClosed, settle]);
      clearTimeout(timer);
    }
    housekeeper.stop();
    // an HTTP request still running after the grace (a stalled client) is cut: close() stays bounded
    const httpClosed = await Promise.race([
      fastifyClosed.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()));
      }),
    ]);
    clearTimeout(timer);
    if (!httpClosed) {
      logger.warn('cutting HTTP connections whose requests did not finish within the grace');
      app.server.closeAllConnections();
      await fastifyClosed;
    }
    wss.close();
    await Promise.allSettled([backends.engine.close(), backends.store.close(), backends.rateLimiter.close()]);
    logger.info('closed');
  }

  return {
    url: `http://${base}`,
    wsUrl: `ws://${base}/ws`,
    listenUrl,
    port,
    host: options.host,
    options,
    registry: metrics.registry,
    metrics,
    backends,
    events,
    connectionCount: () => hub.size,
    dropConnection: (connectionId) => {
      for (const conn of hub.all) {
        if (conn.id !== connectionId) continue;
        conn.closeReason ??= 'dropped';
        conn.ws.terminate();
        return true;
      }
      return false;
    },
    close: () => (closePromise ??= shutdown()),
  };
}
