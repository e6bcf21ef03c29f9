// The options of createServer(), resolved and checked once at the boundary; inner code trusts the type.
import pino, { type Logger } from 'pino';
import { InvalidOptionError } from '../errors.ts';
import { isIPv4 } from 'node:net';
import { DEV_SECRET } from '../protocol/index.ts';
import type { Backends } from './backends.ts';

export interface ServeOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one. @default 8000 */
  port?: number;
  /** HS256 secret for tokens. @default DEV_SECRET (with one warning through the logger) */
  secret?: string;
  /** When set, tokens must carry this `iss`. @default undefined */
  issuer?: string;
  /** When set, tokens must carry this `aud`. @default undefined */
  audience?: string;
  /** Client messages per user per sliding window. @default { max: 10, windowMs: 1000 } */
  rateLimit?: { max: number; windowMs: number };
  /** Largest client frame in bytes; a bigger one closes the connection with 1009. @default 65536 */
  maxPayload?: number;
  /** Events the in-memory log keeps for resume. @default 10000 */
  history?: number;
  /** Unsent bytes after which a connection is closed with 4008. @default 1048576 */
  slowConsumerLimit?: number;
  /** Ping period; a socket that has not answered the previous ping is terminated. @default 30000 */
  heartbeatIntervalMs?: number;
  /**
   * Period of the one housekeeping timer (token expiry wheel, stuck-socket sweep). Capped at
   * heartbeatIntervalMs. @default 1000
   */
  tickMs?: number;
  /** How long a closing socket may take to finish its close handshake before it is terminated. @default 2000 */
  closeGraceMs?: number;
  /** pino logger. @default a silent logger */
  logger?: Logger;
  /**
   * Injected backends (engine, store, rate limiter); the server closes them in close().
   * @default in-memory, or Redis when redisUrl is set
   */
  backends?: Backends;
  /** redis://host:port: use the Redis backends. @default undefined (in-memory) */
  redisUrl?: string;
  /** Milliseconds since the epoch; timestamps and token expiry read it. @default Date.now */
  clock?: () => number;
  /**
   * A monotonic millisecond clock for the in-memory rate window (an NTP step must not move it).
   * @default `clock` when one is injected (tests drive both with one clock), else performance.now
   */
  monotonicClock?: () => number;
}

export interface ResolvedServeOptions {
  host: string;
  port: number;
  secret: string;
  /** True when no secret was given and DEV_SECRET is in use. */
  devSecret: boolean;
  issuer: string | undefined;
  audience: string | undefined;
  rateLimit: { max: number; windowMs: number };
  maxPayload: number;
  history: number;
  slowConsumerLimit: number;
  heartbeatIntervalMs: number;
  tickMs: number;
  closeGraceMs: number;
  logger: Logger;
  backends: Backends | undefined;
  redisUrl: string | undefined;
  clock: () => number;
  monotonicClock: () => number;
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8000,
  rateLimit: { max: 10, windowMs: 1000 },
  maxPayload: 64 * 1024,
  history: 10_000,
  slowConsumerLimit: 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  tickMs: 1000,
  closeGraceMs: 2000,
} as const;

function checkInt(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `expected an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

export function resolveServeOptions(input: ServeOptions = {}): ResolvedServeOptions {
  const o = { ...SERVE_DEFAULTS, ...stripUndefined(input) };
  if (typeof o.host !== 'string' || o.host.length === 0) throw new InvalidOptionError('host', 'must be a non-empty string');
  checkInt('port', o.port, 0, 65535);
  if (input.secret !== undefined && (typeof input.secret !== 'string' || input.secret.length === 0)) {
    throw new InvalidOptionError('secret', 'must be a non-empty string');
  }
  const devSecret = input.secret === undefined || input.secret === DEV_SECRET;
  if (devSecret && !isLoopbackHost(o.host)) {
    // like Redis's protected mode: the development secret is in the source, so anyone could mint tokens
    throw new InvalidOptionError(
      'secret',
      `refusing to listen on ${o.host} with the built-in development secret (anyone can mint its tokens): set --secret or BUGZAPP_JWT_SECRET`,
    );
  }
  const rl = o.rateLimit;
  if (!rl || typeof rl !== 'object') throw new InvalidOptionError('rateLimit', 'expected { max, windowMs }');
  checkInt('rateLimit.max', rl.max, 1);
  checkInt('rateLimit.windowMs', rl.windowMs, 1);
  checkInt('maxPayload', o.maxPayload, 1);
  checkInt('history', o.history, 1);
  checkInt('slowConsumerLimit', o.slowConsumerLimit, 1);
  checkInt('heartbeatIntervalMs', o.heartbeatIntervalMs, 1);
  checkInt('tickMs', o.tickMs, 1);
  checkInt('closeGraceMs', o.closeGraceMs, 0);
  if (input.redisUrl !== undefined && !/^rediss?:\/\//.test(input.redisUrl)) {
    throw new InvalidOptionError('redisUrl', `expected redis://host:port, got ${input.redisUrl}`);
  }
  if (input.backends && input.redisUrl) {
    throw new InvalidOptionError('redisUrl', 'give either backends or redisUrl, not both');
  }
  if (input.clock !== undefined && typeof input.clock !== 'function') {
    throw new InvalidOptionError('clock', 'must be a function returning milliseconds');
  }
  return {
    host: o.host,
    port: o.port,
    secret: input.secret ?? DEV_SECRET,
    devSecret,
    issuer: input.issuer || undefined,
    audience: input.audience || undefined,
    rateLimit: { max: rl.max, windowMs: rl.windowMs },
    maxPayload: o.maxPayload,
    history: o.history,
    slowConsumerLimit: o.slowConsumerLimit,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    tickMs: Math.min(o.tickMs, o.heartbeatIntervalMs),
    closeGraceMs: o.closeGraceMs,
    logger: input.logger ?? pino({ level: 'silent' }),
    backends: input.backends,
    redisUrl: input.redisUrl,
    clock: input.clock ?? Date.now,
    monotonicClock: input.monotonicClock ?? input.clock ?? (() => performance.now()),
  };
}

/** Whether `host` names only this machine (127.0.0.0/8, ::1, localhost): nothing else can reach it. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

function stripUndefined<T extends object>(obj: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
