// Servers under test, each in its own child process: the baseline, `bugzapp serve`, a redis-server.
// A child is ready once it prints a line with "listening on http://..." (stdout or stderr).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ServerProcess {
  name: string;
  /** http://host:port */
  url: string;
  pid: number;
  /** Last lines of the child's stderr, for error reports. */
  stderrTail(): string;
  /** True while the process runs. */
  alive(): boolean;
  close(): Promise<void>;
}

interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Matches the ready line; group 1 is the URL. */
  ready?: RegExp;
  timeoutMs?: number;
}

const DEFAULT_READY = /listening on (https?:\/\/[^\s,;]+)/i;

export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (s: string): void => {
    tail = (tail + s).slice(-4000);
  };
  const ready = options.ready ?? DEFAULT_READY;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not report ready within ${timeoutMs} ms:\n${tail}`));
    }, timeoutMs);
    const onLine = (line: string): void => {
      keep(`${line}\n`);
      const m = ready.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.replace(/\/$/, ''));
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready:\n${tail}`));
    });
  });
  return {
    name: options.name,
    url,
    pid: child.pid!,
    stderrTail: () => tail,
    alive: () => child.exitCode === null && child.signalCode === null,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 6000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const TSX = ['--import', 'tsx'];

export function startBaseline(): Promise<ServerProcess> {
  return spawnServer({
    name: 'baseline',
    command: process.execPath,
    args: [...TSX, 'bench/baseline-server.ts', '--port', '0'],
  });
}

export interface ReferenceOptions {
  secret: string;
  redisUrl?: string;
  name?: string;
}

/** `bugzapp serve` with a rate limit too high to interfere and warn-level logs. */
export function startReference(options: ReferenceOptions): Promise<ServerProcess> {
  const args = [
    ...TSX,
    'src/cli/index.ts',
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--secret',
    options.secret,
    '--rate-limit',
    '1000000/1s',
    '--log-level',
    'warn',
  ];
  if (options.redisUrl) args.push('--redis', options.redisUrl);
  return spawnServer({ name: options.name ?? 'ours', command: process.execPath, args });
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = addr && typeof addr === 'object' ? addr.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A throwaway redis-server on a free loopback port, no persistence. */
export async function startRedis(): Promise<ServerProcess & { redisUrl: string }> {
  const port = await freePort();
  const proc = await spawnServer({
    name: 'redis-server',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    ready: /(Ready to accept connections)/,
    timeoutMs: 10_000,
  });
  return { ...proc, url: `redis://127.0.0.1:${port}`, redisUrl: `redis://127.0.0.1:${port}` };
}
