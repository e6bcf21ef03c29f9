// Servers under test, each in its own child process: the baseline, `bugzapp serve`, a redis-server.
// A child is ready once it prints its ready line (stdout or stderr): src/loadtest/server-process.ts.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawnListeningProcess, startServerProcess, type SpawnListeningOptions } from '../src/loadtest/server-process.ts';

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

interface SpawnOptions extends SpawnListeningOptions {
  name: string;
}

/** A child server through the library's spawn-and-read-the-URL helper, with a name for the tables. */
export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const proc = await spawnListeningProcess({ cwd: REPO_ROOT, ...options });
  return { name: options.name, url: proc.url, pid: proc.pid, stderrTail: proc.outputTail, alive: proc.alive, close: proc.close };
}

export function startBaseline(): Promise<ServerProcess> {
  return spawnServer({
    name: 'baseline',
    command: process.execPath,
    args: ['--import', 'tsx', 'bench/baseline-server.ts', '--port', '0'],
  });
}

export interface ReferenceOptions {
  secret: string;
  redisUrl?: string;
  name?: string;
}

/** `bugzapp serve` with a rate limit too high to interfere and warn-level logs. */
export async function startReference(options: ReferenceOptions): Promise<ServerProcess> {
  const args = ['--rate-limit', '1000000/1s'];
  if (options.redisUrl) args.push('--redis', options.redisUrl);
  const proc = await startServerProcess({ secret: options.secret, args, logLevel: 'warn' });
  return { name: options.name ?? 'ours', url: proc.url, pid: proc.pid, stderrTail: proc.outputTail, alive: proc.alive, close: proc.close };
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
