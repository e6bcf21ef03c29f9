// The CLI: parses argv, runs one command, maps errors to exit codes. The only place that exits.
import { Command, CommanderError } from 'commander';
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { BugzappError, InvalidOptionError } from '../errors.ts';
import { CliExit, type CliIO } from './io.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerTokenCommand } from './commands/token.ts';
import { registerListenCommand } from './commands/listen.ts';
import { registerFireCommand } from './commands/fire.ts';
import { registerLoadCommand } from './commands/load.ts';
import { registerCheckCommand } from './commands/check.ts';
import { registerReportCommand } from './commands/report.ts';

export const VERSION = '0.1.0';

/** Exit codes shared by every command. `load` adds 3 (the run is invalid: the generator saturated). */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2, Invalid: 3 } as const;

export function createProgram(io: CliIO): Command {
  const program = new Command();
  program
    .name('bugzapp')
    .description('Test harness for realtime WebSocket backends that speak the BugZapp protocol.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  registerServeCommand(program, io);
  registerTokenCommand(program, io);
  registerListenCommand(program, io);
  registerFireCommand(program, io);
  registerLoadCommand(program, io);
  registerCheckCommand(program, io);
  registerReportCommand(program, io);
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  }
  return program;
}

/** Run the CLI with `argv` (user arguments only, no node/script) and return the exit code. */
export async function runCli(args: string[], io: CliIO): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return io.exitCode;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIO): number {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; help shown because a subcommand is missing, and every other
    // parse error, are usage errors
    return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (err instanceof CliExit) {
    if (err.message) io.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof InvalidOptionError) {
    io.stderr.write(`error: ${err.message}\n`);
    return ExitCode.Usage;
  }
  if (err instanceof BugzappError) {
    io.stderr.write(`error: ${err.message} (${err.code})\n`);
    return ExitCode.Failure;
  }
  const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(`${stack}\nThis is a bug in bugzapp; please report it with the command you ran.\n`);
  return ExitCode.Failure;
}

/** The process entry point: wires signals and real streams, then exits with the command's code. */
export async function main(argv: string[]): Promise<void> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals > 1) process.exit(130); // a second Ctrl-C forces the exit
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    signal: controller.signal,
    exitCode: 0,
  };
  const code = await runCli(argv.slice(2), io);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // let stdout drain before exiting, so piped output is never cut
  if (process.stdout.writableLength > 0 && !process.stdout.destroyed) {
    await new Promise((r) => {
      process.stdout.once('drain', r);
      process.stdout.once('close', r);
    });
  }
  process.exit(code);
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main(process.argv);
