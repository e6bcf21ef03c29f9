// A server under test as a child process, ready once it prints "listening on <url>": `bugzapp serve`
// (the load tester's default target, kept out of the generator's event loop), and through
// spawnListeningProcess any other server (the bench's baseline, the FastAPI guide, redis-server).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BugzappError } from '../errors.ts';
import { ownModule } from '../own-module.ts';

export interface ServerProcess {
  /** The URL from the ready line, without a trailing slash (http://host:port). */
  url: string;
  pid: number;
  child: ChildProcess;
  /** The last few KB of the child's output, for error reports. */
  outputTail(): string;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGTERM (a graceful stop), then SIGKILL if it has not exited within 5 s. */
  close(): Promise<void>;
  /** SIGKILL: no shutdown at all. */
  kill(): Promise<void>;
}

export interface SpawnListeningOptions {
  /** Names the process in errors. */
  name: string;
  command: string;
  args: string[];
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Matches the ready line (stdout or stderr); group 1 is the URL. @default /listening on (https?:\/\/\S+)/ */
  ready?: RegExp;
  /** @default 30000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_READY = /listening on (https?:\/\/[^\s,;]+)/i;

/** Spawns `command` and resolves once it prints its ready line; the child is killed if it never does. */
export async function spawnListeningProcess(options: SpawnListeningOptions): Promise<ServerProcess> {
  const child = spawn(options.command, options.args, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const ready = options.ready ?? DEFAULT_READY;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (!running()) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const fail = (err: Error): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new BugzappError('ERR_TIMEOUT', `${options.name} did not start within ${timeoutMs} ms: ${tail.trim()}`)),
        timeoutMs,
      );
      const onAbort = (): void => fail(new BugzappError('ERR_ABORTED', `aborted while starting ${options.name}`));
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const onLine = (line: string): void => {
        tail = `${tail}${line}\n`.slice(-4000);
        const m = ready.exec(line);
        if (m) {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(m[1]!.replace(/\/$/, ''));
        }
      };
      createInterface({ input: child.stdout }).on('line', onLine);
      createInterface({ input: child.stderr }).on('line', onLine);
      child.once('error', (err) => fail(new BugzappError('ERR_SERVER_CLOSED', `${options.name} could not start: ${err.message}`)));
      child.once('exit', (code, signal) => {
        // let the last lines of output reach the tail before saying why it exited
        setImmediate(() => fail(new BugzappError('ERR_SERVER_CLOSED', `${options.name} exited (${code ?? signal}) before it was ready: ${tail.trim()}`)));
      });
    });
    return {
      url,
      pid: child.pid!,
      child,
      outputTail: () => tail,
      alive: running,
      close: () => stop('SIGTERM'),
      kill: () => stop('SIGKILL'),
    };
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
}

export interface ServerProcessOptions {
  /** BUGZAPP_JWT_SECRET of the server. */
  secret?: string;
  /** More `bugzapp serve` flags, e.g. ['--redis', url, '--rate-limit', '1000/1s']. */
  args?: string[];
  /** Added to the environment. */
  env?: NodeJS.ProcessEnv;
  /** @default 'error' */
  logLevel?: string;
  /** @default 30000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** `bugzapp serve --host 127.0.0.1 --port 0` in a child process on this Node; resolves with its URL. */
export function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const cli = ownModule('cli/index.ts');
  return spawnListeningProcess({
    name: 'the reference server',
    command: process.execPath,
    args: [...cli.execArgv, fileURLToPath(cli.url), 'serve', '--host', '127.0.0.1', '--port', '0', '--log-level', options.logLevel ?? 'error', ...(options.args ?? [])],
    env: { ...options.env, ...(options.secret !== undefined ? { BUGZAPP_JWT_SECRET: options.secret } : {}) },
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
