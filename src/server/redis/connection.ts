// Opening ioredis connections the way the backends need them: fail fast while Redis is away (so a POST
// gets 503 at once instead of queueing), never resend a command that may already have run, and
// reconnect by themselves with a short capped backoff.
import { Redis } from 'ioredis';
import { BugzappError } from '../../errors.ts';

export interface ConnectionOptions {
  url: string;
  /** Shown in CLIENT LIST. */
  name: string;
  /** Per-command timeout; none for the blocking reader. */
  commandTimeoutMs?: number;
  /** Cap of the reconnect backoff. @default 1000 */
  maxReconnectDelayMs?: number;
}

/** A lazily connecting ioredis client; call `connectRedis` to open it. */
export function createRedisConnection(options: ConnectionOptions): Redis {
  const cap = options.maxReconnectDelayMs ?? 1000;
  return new Redis(options.url, {
    connectionName: options.name,
    lazyConnect: true,
    // RESP2: reply shapes are the classic arrays on every server version
    protocol: 2,
    disableClientInfo: true,
    enableOfflineQueue: false,
    // a command cut off by a dropped connection is rejected, never resent: it may have run already
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), cap),
  });
}

/** Open the connection; rejects with ERR_BACKEND_UNAVAILABLE (naming the URL) when Redis cannot be reached. */
export async function connectRedis(redis: Redis, url: string): Promise<void> {
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new BugzappError('ERR_BACKEND_UNAVAILABLE', `cannot reach Redis at ${redactUrl(url)}: ${errorText(err)}`, {
      cause: err,
    });
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Wrap a failed Redis call in the coded error the server answers with 503. */
export function unavailable(what: string, err: unknown): BugzappError {
  if (err instanceof BugzappError) return err;
  return new BugzappError('ERR_BACKEND_UNAVAILABLE', `Redis unavailable: ${what} (${errorText(err)})`, { cause: err });
}

type ScriptArg = string | number | Buffer;
export type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;

/** Register a Lua script (EVALSHA, with ioredis falling back to EVAL after a Redis restart). */
export function defineScript(redis: Redis, name: string, lua: string, numberOfKeys: number): ScriptFn {
  redis.defineCommand(name, { lua, numberOfKeys });
  const fn = (redis as unknown as Record<string, ScriptFn>)[name];
  if (typeof fn !== 'function') throw new Error(`ioredis did not define the script command ${name}`);
  return fn.bind(redis);
}
