// Running CLI commands in-process: a CliIO that captures stdout/stderr and lets a test wait for output.
import { runCli } from '../../src/cli/index.ts';
import type { CliIO } from '../../src/cli/io.ts';

export const CLI_WAIT_MS = 10_000;

export interface CapturedIO {
  io: CliIO;
  /** Aborting it is the Ctrl-C of an in-process run. */
  controller: AbortController;
  out(): string;
  err(): string;
  /** Resolves with the first match of `pattern` in stdout (already written or still to come). */
  waitForOut(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves once `check()` holds, re-checked after every write to stdout or stderr; rejects after the timeout. */
  until(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

export interface CaptureOptions {
  /** What stdout claims to be: a terminal makes commands draw their Ink views. @default false */
  isTTY?: boolean;
}

export function captureIO(env: Record<string, string | undefined> = {}, options: CaptureOptions = {}): CapturedIO {
  const controller = new AbortController();
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  const poke = (): void => {
    for (const w of [...watchers]) w();
  };
  const io: CliIO = {
    stdout: {
      write: (s: string) => {
        out += s;
        poke();
        return true;
      },
      ...(options.isTTY ? { isTTY: true, columns: 120 } : {}),
    },
    stderr: {
      write: (s: string) => {
        err += s;
        poke();
        return true;
      },
    },
    env,
    signal: controller.signal,
    exitCode: 0,
  };
  const until = (check: () => boolean, what: string, timeoutMs = CLI_WAIT_MS): Promise<void> =>
    new Promise((resolve, reject) => {
      const tryIt = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        watchers.delete(tryIt);
        resolve();
      };
      const timer = setTimeout(() => {
        watchers.delete(tryIt);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stdout: ${out}; stderr: ${err}`));
      }, timeoutMs);
      watchers.add(tryIt);
      tryIt();
    });
  const waitForOut = async (pattern: RegExp, timeoutMs = CLI_WAIT_MS): Promise<RegExpExecArray> => {
    let m: RegExpExecArray | null = null;
    await until(() => (m = pattern.exec(out)) !== null, `${pattern} on stdout`, timeoutMs);
    return m!;
  };
  return { io, controller, out: () => out, err: () => err, waitForOut, until };
}

/** runCli in-process; resolves with the exit code and the captured output. */
export async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  const c = captureIO(env);
  const code = await runCli(args, c.io);
  return { code, out: c.out(), err: c.err() };
}
