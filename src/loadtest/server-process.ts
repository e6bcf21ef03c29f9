// Without --url, `bugzapp load` runs against the reference server started as a child process on a
// free loopback port (a separate process, so the server's CPU is not the generator's event loop).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BugzappError } from '../errors.ts';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../cli/index.ts', import.meta.url));

export interface ServerProcess {
  url: string;
  pid: number;
  close(): Promise<void>;
}

export async function startServerProcess(options: { secret: string; timeoutMs?: number; signal?: AbortSignal }): Promise<ServerProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'error'], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, BUGZAPP_JWT_SECRET: options.secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 8000) stderr += s;
  });
  const lines = createInterface({ input: child.stdout });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new BugzappError('ERR_TIMEOUT', `the reference server did not start within ${timeoutMs} ms: ${stderr.trim()}`)),
        timeoutMs,
      );
      const onAbort = (): void => reject(new BugzappError('ERR_ABORTED', 'aborted while starting the reference server'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      lines.on('line', (line) => {
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new BugzappError('ERR_SERVER_CLOSED', `the reference server exited with ${code}: ${stderr.trim()}`));
      });
    });
    return { url, pid: child.pid!, close: stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
