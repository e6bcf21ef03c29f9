// Resolving runLoadTest's options once at the boundary: defaults first, ranges and exclusive pairs
// checked, errors that name the option. Inner code trusts LoadTestOptions.
import { availableParallelism } from 'node:os';
import { BugzappError, InvalidOptionError } from '../errors.ts';
import { DEV_SECRET } from '../protocol/index.ts';
import { MIX_OPERATIONS, type LoadMix, type LoadTestInput, type LoadTestOptions } from './types.ts';

export const LOAD_DEFAULTS = {
  users: 100,
  connsPerUser: 1,
  connectRate: 500,
  events: 200,
  rate: 50,
  mix: { bug_report: 70, comment: 20, update: 10 } as LoadMix,
  assignRatio: 0.5,
  drainTimeoutMs: 10_000,
  workers: 'auto',
  skipRateLimit: false,
  userIdBase: 0,
  saturationLagMs: 100,
  progressIntervalMs: 250,
  connectTimeoutMs: 30_000,
  startServer: true,
} as const;

/**
 * `--workers auto`: the cores the server under test leaves free. Targets are loopback only, so the server
 * always shares the machine: one core per server instance (a started reference server is one) and one
 * for the main thread (it fires the REST calls), at least one worker, and no more than one per 500
 * connections. 2 cores, one server: 1 worker. A small run (under AUTO_WORKERS_FROM connections) stays in
 * the main thread: a worker's start-up and memory buy nothing there.
 */
export function autoWorkers(serverInstances: number, connections: number, cores = availableParallelism()): number {
  if (connections < AUTO_WORKERS_FROM) return 0;
  const free = cores - Math.max(1, serverInstances) - 1;
  return Math.max(1, Math.min(free, Math.ceil(connections / 500), 64));
}

/** Connections from which `--workers auto` moves them off the main thread. */
export const AUTO_WORKERS_FROM = 1000;

/** Source addresses to rotate: one per ~20,000 connections keeps clear of ephemeral-port exhaustion. */
export function defaultLocalAddresses(connections: number): string[] {
  const n = Math.min(250, Math.max(1, Math.ceil(connections / 20_000)));
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}

function checkInt(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `expected an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function checkNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `expected a number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255);
}

/** Refuses anything but a loopback http(s)/ws(s) URL: the load tester never points at the network. */
export function checkLoopbackTarget(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionError('url', `not a URL: ${url}`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new InvalidOptionError('url', `expected http(s):// or ws(s)://, got ${url}`);
  }
  if (!isLoopbackHost(parsed.hostname)) {
    throw new BugzappError('ERR_LOADTEST_TARGET', `refusing to load-test ${parsed.hostname}: only loopback targets (127.0.0.0/8, ::1) are allowed`);
  }
}

export function resolveLoadTestOptions(input: LoadTestInput = {}): LoadTestOptions {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as LoadTestInput;
  const urls = defined.urls ?? [];
  if (!Array.isArray(urls)) throw new InvalidOptionError('url', 'expected a list of URLs');
  for (const u of urls) checkLoopbackTarget(u);
  const users = checkInt('users', defined.users ?? LOAD_DEFAULTS.users, 1, 1_000_000);
  const connsPerUser = checkInt('conns-per-user', defined.connsPerUser ?? LOAD_DEFAULTS.connsPerUser, 1, 10_000);
  const connectRate = checkNumber('connect-rate', defined.connectRate ?? LOAD_DEFAULTS.connectRate, 0.001, 1_000_000);
  if (defined.events !== undefined && defined.durationMs !== undefined) {
    throw new InvalidOptionError('events', 'give either --events or --duration, not both');
  }
  const rate = checkNumber('rate', defined.rate ?? LOAD_DEFAULTS.rate, 0.001, 1_000_000);
  let events: number | undefined;
  let durationMs: number | undefined;
  if (defined.durationMs !== undefined) durationMs = checkInt('duration', defined.durationMs, 1);
  else events = checkInt('events', defined.events ?? LOAD_DEFAULTS.events, 0, 100_000_000);
  const mix = { ...(defined.mix ?? LOAD_DEFAULTS.mix) };
  let weight = 0;
  for (const [k, v] of Object.entries(mix)) {
    if (!(MIX_OPERATIONS as readonly string[]).includes(k)) {
      throw new InvalidOptionError('mix', `unknown operation "${k}" (expected ${MIX_OPERATIONS.join(', ')})`);
    }
    weight += checkNumber(`mix.${k}`, v, 0, 1_000_000);
  }
  if (weight <= 0) throw new InvalidOptionError('mix', 'at least one operation needs a positive weight');
  const rateLimit = defined.rateLimit;
  if (rateLimit !== undefined) {
    checkInt('rate-limit max', rateLimit.max, 1);
    checkInt('rate-limit window', rateLimit.windowMs, 1);
  }
  const total = users * connsPerUser;
  const localAddresses = defined.localAddresses ?? defaultLocalAddresses(total);
  if (!Array.isArray(localAddresses) || localAddresses.length === 0) {
    throw new InvalidOptionError('localAddresses', 'expected at least one loopback address');
  }
  for (const a of localAddresses) {
    if (!isLoopbackHost(a)) throw new InvalidOptionError('localAddresses', `not a loopback address: ${a}`);
  }
  return {
    urls: [...urls],
    secret: defined.secret ?? DEV_SECRET,
    users,
    connsPerUser,
    connectRate,
    ...(events !== undefined ? { events } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    rate,
    mix,
    assignRatio: checkNumber('assignRatio', defined.assignRatio ?? LOAD_DEFAULTS.assignRatio, 0, 1),
    drainTimeoutMs: checkInt('drain-timeout', defined.drainTimeoutMs ?? LOAD_DEFAULTS.drainTimeoutMs, 0),
    workers:
      (defined.workers ?? LOAD_DEFAULTS.workers) === 'auto'
        ? autoWorkers(urls.length, total)
        : checkInt('workers', defined.workers, 0, 64),
    ...(rateLimit !== undefined ? { rateLimit: { max: rateLimit.max, windowMs: rateLimit.windowMs } } : {}),
    skipRateLimit: defined.skipRateLimit ?? LOAD_DEFAULTS.skipRateLimit,
    localAddresses: [...localAddresses],
    userIdBase: checkInt('userIdBase', defined.userIdBase ?? LOAD_DEFAULTS.userIdBase, 0),
    saturationLagMs: checkNumber('saturationLagMs', defined.saturationLagMs ?? LOAD_DEFAULTS.saturationLagMs, 1, 3_600_000),
    progressIntervalMs: checkInt('progressIntervalMs', defined.progressIntervalMs ?? LOAD_DEFAULTS.progressIntervalMs, 10),
    connectTimeoutMs: checkInt('connectTimeoutMs', defined.connectTimeoutMs ?? LOAD_DEFAULTS.connectTimeoutMs, 1),
    startServer: defined.startServer ?? LOAD_DEFAULTS.startServer,
    ...(defined.churn !== undefined
      ? {
          churn: {
            percent: checkNumber('churn percent', defined.churn.percent, 0.001, 100),
            intervalMs: checkInt('churn interval', defined.churn.intervalMs, 10),
          },
        }
      : {}),
    ...(defined.storms !== undefined && defined.storms.length > 0
      ? { storms: defined.storms.map((s) => ({ percent: checkNumber('storm percent', s.percent, 0.001, 100), atMs: checkInt('storm time', s.atMs, 0) })) }
      : {}),
    ...(defined.tokenTtlMs !== undefined ? { tokenTtlMs: checkInt('token-ttl', defined.tokenTtlMs, 1000, 366 * 86_400_000) } : {}),
    ...(defined.eventBytes !== undefined && defined.eventBytes > 0 ? { eventBytes: checkInt('event-bytes', defined.eventBytes, 0, 90_000) } : {}),
    ...(defined.slow !== undefined
      ? {
          slow: {
            percent: checkNumber('slow percent', defined.slow.percent, 0.001, 100),
            ...(defined.slow.durationMs !== undefined ? { durationMs: checkInt('slow duration', defined.slow.durationMs, 1) } : {}),
          },
        }
      : {}),
    // a seed only where something is cut or paused: drawn once here, reported, and given back to repeat a run
    ...(defined.churn !== undefined || (defined.storms?.length ?? 0) > 0 || defined.slow !== undefined
      ? { seed: checkInt('seed', defined.seed ?? Math.floor(Math.random() * 0x7fffffff), 0, 0xffffffff) }
      : {}),
  };
}

/** The number of operations a run fires. */
export function plannedEvents(o: LoadTestOptions): number {
  if (o.events !== undefined) return o.events;
  return Math.max(0, Math.floor(((o.durationMs ?? 0) * o.rate) / 1000));
}
