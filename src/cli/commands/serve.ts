// `bugzapp serve`: the reference server. Flags, then env, then defaults; prints one stable line with
// the URL once it listens; pino JSON logs go to stderr; SIGINT/SIGTERM close it gracefully.
import { Command } from 'commander';
import type { Level } from 'pino';
import { InvalidOptionError } from '../../errors.ts';
import type { ServeOptions } from '../../server/index.ts';
import { parseBytes, parseDuration, parseRate } from '../../units.ts';
import type { CliIO } from '../io.ts';

interface ServeFlags {
  host?: string;
  port?: string;
  secret?: string;
  issuer?: string;
  audience?: string;
  rateLimit?: string;
  maxPayload?: string;
  history?: string;
  slowConsumerLimit?: string;
  heartbeat?: string;
  logLevel?: string;
  redis?: string;
}

/** Each flag with the env variable that backs it. */
const ENV: Record<keyof ServeFlags, string> = {
  host: 'BUGZAPP_HOST',
  port: 'BUGZAPP_PORT',
  secret: 'BUGZAPP_JWT_SECRET',
  issuer: 'BUGZAPP_JWT_ISSUER',
  audience: 'BUGZAPP_JWT_AUDIENCE',
  rateLimit: 'BUGZAPP_RATE_LIMIT',
  maxPayload: 'BUGZAPP_MAX_PAYLOAD',
  history: 'BUGZAPP_HISTORY',
  slowConsumerLimit: 'BUGZAPP_SLOW_CONSUMER_LIMIT',
  heartbeat: 'BUGZAPP_HEARTBEAT',
  logLevel: 'BUGZAPP_LOG_LEVEL',
  redis: 'BUGZAPP_REDIS_URL',
};

const FLAG: Record<keyof ServeFlags, string> = {
  host: '--host',
  port: '--port',
  secret: '--secret',
  issuer: '--issuer',
  audience: '--audience',
  rateLimit: '--rate-limit',
  maxPayload: '--max-payload',
  history: '--history',
  slowConsumerLimit: '--slow-consumer-limit',
  heartbeat: '--heartbeat',
  logLevel: '--log-level',
  redis: '--redis',
};

/** createServer's option names with the flag that sets each, so that its errors name the flag. */
const OPTION_FLAG: Record<string, string> = {
  host: FLAG.host,
  port: FLAG.port,
  secret: FLAG.secret,
  'rateLimit.max': FLAG.rateLimit,
  'rateLimit.windowMs': FLAG.rateLimit,
  maxPayload: FLAG.maxPayload,
  history: FLAG.history,
  slowConsumerLimit: FLAG.slowConsumerLimit,
  heartbeatIntervalMs: FLAG.heartbeat,
  redisUrl: FLAG.redis,
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The resolved server options and log level of a `serve` command line; throws InvalidOptionError naming the flag. */
export function serveOptionsFromFlags(
  flags: ServeFlags,
  env: Record<string, string | undefined>,
): { options: Omit<ServeOptions, 'logger'>; logLevel: Level | 'silent' } {
  const pick = (key: keyof ServeFlags): { value: string; source: string } | undefined => {
    const flag = flags[key];
    if (flag !== undefined) return { value: flag, source: FLAG[key] };
    const fromEnv = env[ENV[key]];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: `${FLAG[key]} (from ${ENV[key]})` };
    return undefined;
  };
  const bad = (key: keyof ServeFlags, source: string, expected: string, value: string): never => {
    throw new InvalidOptionError(FLAG[key], `expected ${expected}, got '${value}'${source === FLAG[key] ? '' : ` from ${ENV[key]}`}`);
  };
  const int = (key: keyof ServeFlags, min: number, max: number): number | undefined => {
    const p = pick(key);
    if (!p) return undefined;
    const n = Number(p.value);
    if (!/^\d+$/.test(p.value.trim()) || n < min || n > max) bad(key, p.source, `an integer from ${min} to ${max}`, p.value);
    return n;
  };
  const bytes = (key: keyof ServeFlags): number | undefined => {
    const p = pick(key);
    if (!p) return undefined;
    const n = parseBytes(p.value);
    if (n === undefined || n < 1) bad(key, p.source, 'a size like 64kb or 1mb', p.value);
    return n;
  };
  const options: Omit<ServeOptions, 'logger'> = {};
  const host = pick('host');
  if (host) options.host = host.value;
  const port = int('port', 0, 65535);
  if (port !== undefined) options.port = port;
  const secret = pick('secret');
  if (secret) options.secret = secret.value;
  const issuer = pick('issuer');
  if (issuer) options.issuer = issuer.value;
  const audience = pick('audience');
  if (audience) options.audience = audience.value;
  const rate = pick('rateLimit');
  if (rate) {
    const r = parseRate(rate.value);
    if (!r || r.max < 1) return bad('rateLimit', rate.source, 'N/duration like 10/1s', rate.value);
    options.rateLimit = r;
  }
  const maxPayload = bytes('maxPayload');
  if (maxPayload !== undefined) options.maxPayload = maxPayload;
  const history = int('history', 1, 100_000_000);
  if (history !== undefined) options.history = history;
  const slow = bytes('slowConsumerLimit');
  if (slow !== undefined) options.slowConsumerLimit = slow;
  const hb = pick('heartbeat');
  if (hb) {
    const ms = parseDuration(hb.value);
    if (ms === undefined || ms < 1) return bad('heartbeat', hb.source, 'a duration like 30s', hb.value);
    options.heartbeatIntervalMs = ms;
  }
  const redis = pick('redis');
  if (redis) {
    if (!/^rediss?:\/\/./.test(redis.value)) bad('redis', redis.source, 'a URL like redis://127.0.0.1:6379', redis.value);
    options.redisUrl = redis.value;
  }
  const level = pick('logLevel');
  let logLevel: Level | 'silent' = 'info';
  if (level) {
    if (!(LOG_LEVELS as readonly string[]).includes(level.value)) bad('logLevel', level.source, LOG_LEVELS.join('|'), level.value);
    logLevel = level.value as Level | 'silent';
  }
  return { options, logLevel };
}

export function registerServeCommand(program: Command, io: CliIO): void {
  program
    .command('serve')
    .description('Run the reference BugZapp server (REST + WebSocket on one port).')
    .option('--host <host>', 'interface to listen on [env BUGZAPP_HOST] (default 127.0.0.1)')
    .option('--port <port>', 'port, 0 for a free one [env BUGZAPP_PORT] (default 8000)')
    .option('--secret <secret>', 'HS256 JWT secret, 32+ bytes [env BUGZAPP_JWT_SECRET] (default: a dev secret, loopback hosts only)')
    .option('--issuer <iss>', 'require this iss claim [env BUGZAPP_JWT_ISSUER]')
    .option('--audience <aud>', 'require this aud claim [env BUGZAPP_JWT_AUDIENCE]')
    .option('--rate-limit <n/window>', 'client messages per user per sliding window [env BUGZAPP_RATE_LIMIT] (default 10/1s)')
    .option('--max-payload <size>', 'largest client frame; bigger closes with 1009 [env BUGZAPP_MAX_PAYLOAD] (default 64kb)')
    .option('--history <n>', 'events kept for resume [env BUGZAPP_HISTORY] (default 10000)')
    .option('--slow-consumer-limit <size>', 'unsent bytes before closing with 4008 [env BUGZAPP_SLOW_CONSUMER_LIMIT] (default 1mb)')
    .option('--heartbeat <duration>', 'ping interval [env BUGZAPP_HEARTBEAT] (default 30s)')
    .option('--log-level <level>', `${LOG_LEVELS.join('|')} [env BUGZAPP_LOG_LEVEL] (default info)`)
    .option('--redis <url>', 'use Redis for the event log, store and rate limit [env BUGZAPP_REDIS_URL]')
    .addHelpText(
      'after',
      `
Examples:
  $ bugzapp serve                                  # http://127.0.0.1:8000, ws://127.0.0.1:8000/ws
  $ bugzapp serve --port 0                         # a free port; the URL line says which
  $ BUGZAPP_JWT_SECRET=s3cret bugzapp serve --rate-limit 100/1s --log-level warn
  $ bugzapp serve --slow-consumer-limit 256kb --max-payload 16kb
  $ bugzapp serve --redis redis://127.0.0.1:6379   # several instances share one log

When ready it prints one line to stdout: "bugzapp listening on <url>". Logs (pino JSON) go to stderr.`,
    )
    .action(async (flags: ServeFlags) => {
      const { options, logLevel } = serveOptionsFromFlags(flags, io.env);
      // the server and its logger load when the command runs, so that start-up stays quick
      const [{ pino }, { createServer }] = await Promise.all([import('pino'), import('../../server/index.ts')]);
      const logger = pino({ level: logLevel, base: { name: 'bugzapp', pid: process.pid } }, { write: (s: string) => io.stderr.write(s) });
      let server;
      try {
        server = await createServer({ ...options, logger });
      } catch (err) {
        if (!(err instanceof InvalidOptionError) || OPTION_FLAG[err.option] === undefined) throw err;
        throw new InvalidOptionError(OPTION_FLAG[err.option]!, err.message.slice(`${err.option}: `.length));
      }
      io.stdout.write(`bugzapp listening on ${server.listenUrl}\n`);
      if (!io.signal.aborted) await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
      await server.close();
      io.exitCode = 0;
    });
}
