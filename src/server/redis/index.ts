// `bugzapp serve --redis URL`: the event log, REST store and rate limiter in one Redis, so that several
// instances behind a load balancer act as one server. Two connections per instance: one for commands
// (publish, resume, store, rate limit) and one for the blocking stream reader.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Backends } from '../backends.ts';
import { connectRedis, createRedisConnection, errorText, redactUrl } from './connection.ts';
import { RedisEventEngine } from './engine.ts';
import { createRedisMetrics, type RedisMetrics } from './metrics.ts';
import { RedisRateLimiter } from './rate-limiter.ts';
import { RedisStore } from './store.ts';
import { RedisChanges } from './changes.ts';

export { RedisEventEngine } from './engine.ts';
export { RedisStore } from './store.ts';
export { RedisChanges } from './changes.ts';
export { RedisRateLimiter } from './rate-limiter.ts';
export { createRedisMetrics, type RedisMetrics } from './metrics.ts';
export { compareSeqs, parseSeq, formatSeq } from './seq.ts';

export interface RedisBackendsOptions {
  /** redis://host:port */
  url: string;
  /** Events kept in the stream (trimmed like XADD MAXLEN ~). */
  history: number;
  rateLimit: { max: number; windowMs: number };
  logger: Logger;
  /** Where to register the Redis metrics (the server's registry). @default a private registry */
  registry?: Registry;
  /** Prefix of every key, so deployments can share one Redis. @default 'bugzapp:' */
  prefix?: string;
  /** Milliseconds since the epoch, for the store's timestamps. @default Date.now */
  clock?: () => number;
  /** How long a resume may wait for this instance's reader to catch up. @default 5000 */
  resumeWaitMs?: number;
}

/**
 * Connect to Redis and build the backends. Rejects with ERR_BACKEND_UNAVAILABLE (naming the URL)
 * when Redis cannot be reached at start; after that, outages are answered per request (503) and the
 * connections come back by themselves.
 */
export async function createRedisBackends(
  options: RedisBackendsOptions,
): Promise<Backends & { engine: RedisEventEngine; metrics: RedisMetrics }> {
  const prefix = options.prefix ?? 'bugzapp:';
  const log = options.logger.child({ component: 'redis' });
  const metrics = createRedisMetrics(options.registry);
  const redis = createRedisConnection({ url: options.url, name: 'bugzapp-commands', commandTimeoutMs: 5000 });
  const reader = createRedisConnection({ url: options.url, name: 'bugzapp-reader' });
  for (const [conn, role] of [
    [redis, 'commands'],
    [reader, 'reader'],
  ] as const) {
    let down = false;
    conn.on('error', (err: unknown) => {
      metrics.errors.inc({ op: 'connection' });
      if (!down) log.warn({ role, err: errorText(err) }, 'Redis connection error');
      down = true;
    });
    conn.on('ready', () => {
      if (down) log.info({ role }, 'Redis connection back');
      down = false;
    });
  }
  try {
    await Promise.all([connectRedis(redis, options.url), connectRedis(reader, options.url)]);
  } catch (err) {
    redis.disconnect();
    reader.disconnect();
    throw err;
  }

  const keys = { stream: `${prefix}events`, epoch: `${prefix}events:epoch`, trim: `${prefix}events:trimmed` };
  const engine = new RedisEventEngine({
    redis,
    reader,
    keys,
    history: options.history,
    metrics,
    logger: log,
    resumeWaitMs: options.resumeWaitMs,
  });
  try {
    await engine.start();
  } catch (err) {
    redis.disconnect();
    reader.disconnect();
    throw err;
  }
  log.info({ url: redactUrl(options.url) }, 'Redis backends ready');

  const store = new RedisStore({ redis, prefix, metrics, clock: options.clock });
  const changes = new RedisChanges({ redis, prefix, keys, history: options.history, metrics, clock: options.clock });
  const rateLimiter = new RedisRateLimiter({
    redis,
    prefix,
    max: options.rateLimit.max,
    windowMs: options.rateLimit.windowMs,
    metrics,
  });
  // The engine owns the connections: closing it (the one part every caller closes) closes them, and
  // the store and rate limiter answer 503 from then on.
  const stopEngine = engine.close.bind(engine);
  let closed: Promise<void> | undefined;
  engine.close = () =>
    (closed ??= (async () => {
      await stopEngine();
      reader.disconnect();
      await redis.quit().then(
        () => undefined,
        () => redis.disconnect(),
      );
    })());
  return { engine, store, rateLimiter, changes, kind: 'redis', metrics };
}
