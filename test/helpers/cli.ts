// Running CLI commands in-process: a CliIO that captures stdout/stderr and lets a test wait for output.
import type { CliIO } from '../../src/cli/io.ts';

export interface CapturedIO {
  io: CliIO;
  /** Aborting it is the Ctrl-C of an in-process run. */
  controller: AbortController;
  out(): string;
  err(): string;
  /** Resolves with the first match of `pattern` in stdout (already written or still to come). */
  waitForOut(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

export function captureIO(env: Record<string, string | undefined> = {}): CapturedIO {
  const controller = new AbortController();
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  const io: CliIO = {
    stdout: {
      write: (s: string) => {
        out += s;
        for (const w of watchers) w();
        return true;
      },
    },
    stderr: { write: (s: string) => ((err += s), true) },
    env,
    signal: controller.signal,
    exitCode: 0,
  };
  const waitForOut = (pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = pattern.exec(out);
        if (!m) return;
        clearTimeout(timer);
        watchers.delete(check);
        resolve(m);
      };
      const timer = setTimeout(() => {
        watchers.delete(check);
        reject(new Error(`no ${pattern} on stdout within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
      }, timeoutMs);
      watchers.add(check);
      check();
    });
  return { io, controller, out: () => out, err: () => err, waitForOut };
}
