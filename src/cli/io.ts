// What a command may touch of the outside world, injected so that tests run commands in-process.

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Aborted on SIGINT/SIGTERM (or by a test): long-running commands stop and report. */
  signal: AbortSignal;
  /** Set by a command to choose the process exit code. @default 0 */
  exitCode: number;
}

/** Thrown by a command to end with an exit code and a message on stderr (no stack). */
export class CliExit extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message = '') {
    super(message);
    this.exitCode = exitCode;
  }
}
