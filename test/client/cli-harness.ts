// Running bugzapp as the real spawned binary in tests (in-process runs: test/helpers/cli.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

export const BIN = fileURLToPath(new URL('../../bin/bugzapp.js', import.meta.url));
export const WAIT_MS = 15_000;

export interface SpawnedCli {
  child: ChildProcess;
  /** Complete stdout lines so far. */
  lines: string[];
  stderr(): string;
  /** Resolves once `check()` holds, re-checked on every output chunk; rejects after the timeout. */
  until(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name) once the process ends; rejects after the timeout. */
  exit(timeoutMs?: number): Promise<number | string>;
}

/** Spawn the real `bugzapp` binary on the Node running the tests (Node 24 through npx vitest). */
export function spawnCli(args: string[], env: Record<string, string> = {}): SpawnedCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    // none of the runner's own settings leak in (a CI job's step summary, a port or URL set for it)
    env: { ...process.env, BUGZAPP_URL: '', BUGZAPP_PORT: '', BUGZAPP_JWT_SECRET: '', GITHUB_STEP_SUMMARY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const checks = new Set<() => void>();
  const poke = (): void => {
    for (const c of [...checks]) c();
  };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    partial += s;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    poke();
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
    poke();
  });
  let exitValue: number | string | undefined;
  child.once('exit', (code, signal) => {
    exitValue = code ?? signal ?? -1;
    poke();
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const until = (check: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> =>
    new Promise((resolve, reject) => {
      const tryIt = (): void => {
        if (check()) {
          clearTimeout(timer);
          checks.delete(tryIt);
          resolve();
        } else if (exitValue !== undefined) {
          clearTimeout(timer);
          checks.delete(tryIt);
          reject(new Error(`bugzapp exited (${exitValue}) before ${what}; stderr:\n${err}`));
        }
      };
      const timer = setTimeout(() => {
        checks.delete(tryIt);
        reject(new Error(`timed out waiting for ${what}; stdout lines: ${lines.length}; stderr:\n${err}`));
      }, timeoutMs);
      checks.add(tryIt);
      tryIt();
    });
  return {
    child,
    lines,
    stderr: () => err,
    until,
    async exit(timeoutMs = WAIT_MS) {
      await until(() => exitValue !== undefined, 'exit', timeoutMs).catch((e: unknown) => {
        if (exitValue === undefined) throw e;
      });
      return exitValue!;
    },
  };
}
