// `bugzapp check`: maps flags to runCheck, shows the cases as they run (an Ink view in a terminal,
// plain lines otherwise), prints the result (text or --json) and writes the JUnit file and the GitHub
// step summary. Exit 0 every case passed, 1 a case failed (or was unsupported without
// --allow-unsupported), 2 usage or harness error.
import { spawn } from 'node:child_process';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Instance } from 'ink';
import { Command } from 'commander';
import { formatCheckJUnit, formatCheckLine, formatCheckMarkdown, formatCheckText, resolveCheckOptions, runCheck } from '../../check/index.ts';
import type { CheckOptions, CheckResult } from '../../check/types.ts';
import { resolveWsUrl } from '../../client/index.ts';
import { InvalidOptionError, isBugzappError } from '../../errors.ts';
import { CliExit, type CliIO } from '../io.ts';
import { caseEnded, caseStarted, initialCheckState, withResult, type CheckViewState } from '../ui/check-state.ts';

const EXIT_USAGE = 2;

export interface CheckFlags {
  url?: string;
  secret?: string;
  token?: string;
  json?: boolean;
  junit?: string;
  only?: string[];
  allowUnsupported?: boolean;
  destructive?: boolean;
  stopCommand?: string;
  concurrency?: string;
}

/** Flags, then env (BUGZAPP_URL, BUGZAPP_JWT_SECRET, BUGZAPP_TOKEN), checked once here. */
export function resolveCheckFlags(flags: CheckFlags, env: Record<string, string | undefined>): CheckOptions {
  const url = flags.url ?? env.BUGZAPP_URL;
  if (url === undefined || url === '') throw new InvalidOptionError('--url', 'required: the base URL of the server to check (or set BUGZAPP_URL)');
  try {
    resolveWsUrl(url, '--url');
  } catch (err) {
    if (err instanceof InvalidOptionError) throw new InvalidOptionError('--url', `${err.message.replace(/^--url: /, '')}${flags.url ? '' : ' (from BUGZAPP_URL)'}`);
    throw err;
  }
  if (flags.secret === '') throw new InvalidOptionError('--secret', 'must not be empty');
  if (flags.token === '') throw new InvalidOptionError('--token', 'must not be empty');
  if (flags.secret !== undefined && flags.token !== undefined) throw new InvalidOptionError('--token', 'give --secret or --token, not both');
  if (flags.junit !== undefined && flags.junit.trim() === '') throw new InvalidOptionError('--junit', 'expected a file path');
  if (flags.destructive && !flags.stopCommand) {
    throw new InvalidOptionError('--destructive', 'needs --stop-command: the shell command that shuts the server down');
  }
  if (flags.stopCommand !== undefined && !flags.destructive) throw new InvalidOptionError('--stop-command', 'only with --destructive');
  let concurrency: number | undefined;
  if (flags.concurrency !== undefined) {
    concurrency = Number(flags.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) throw new InvalidOptionError('--concurrency', `expected an integer from 1 to 32, got '${flags.concurrency}'`);
  }
  const secret = flags.secret ?? (flags.token === undefined ? env.BUGZAPP_JWT_SECRET || undefined : undefined);
  const token = flags.token ?? (secret === undefined ? env.BUGZAPP_TOKEN || undefined : undefined);
  const only = flags.only?.flatMap((o) => o.split(',')).map((s) => s.trim()).filter(Boolean);
  const options: CheckOptions = {
    url,
    ...(secret !== undefined ? { secret } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(only && only.length > 0 ? { only } : {}),
    allowUnsupported: flags.allowUnsupported === true,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(flags.destructive && flags.stopCommand ? { destructive: { stop: () => runStopCommand(flags.stopCommand!) } } : {}),
  };
  try {
    resolveCheckOptions(options);
  } catch (err) {
    if (err instanceof InvalidOptionError && err.option === 'only') throw new InvalidOptionError('--only', err.message.replace(/^only: /, ''));
    throw err;
  }
  return options;
}

/** Runs the user's shutdown command; resolves when it exits 0. */
function runStopCommand(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`--stop-command exited with ${code}`))));
  });
}

/** 0 every case passed; 1 one failed (or unsupported, not allowed); 2 only harness errors kept it from passing. */
export function checkExitCode(result: CheckResult, allowUnsupported = false): number {
  if (result.verdict === 'pass') return 0;
  const s = result.summary;
  const failing = s.fail > 0 || (s.unsupported > 0 && !allowUnsupported);
  return failing || s.error === 0 ? 1 : EXIT_USAGE;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerCheckCommand(program: Command, io: CliIO): void {
  program
    .command('check')
    .description('run the conformance suite of docs/protocol.md against a server: one case per rule, pass or fail with evidence')
    .option('--url <url>', 'base URL of the server to check [env BUGZAPP_URL]')
    .option('--secret <secret>', 'HS256 secret to mint good and bad tokens with [env BUGZAPP_JWT_SECRET] (default: the dev secret)')
    .option('--token <jwt>', 'a ready token, when you do not have the secret (cases that must mint tokens report error) [env BUGZAPP_TOKEN]')
    .option('--only <sections>', 'only these sections (2-8) or case groups (ratelimit, resume, rest.create), comma-separated', collect)
    .option('--allow-unsupported', 'features the server lacks altogether (unsupported cases) do not fail the run')
    .option('--json', 'print the result as JSON on stdout')
    .option('--junit <file>', 'write one JUnit test case per case')
    .option('--destructive', 'also run the cases that stop the server (graceful close); needs --stop-command')
    .option('--stop-command <cmd>', 'shell command that shuts the server down, for --destructive')
    .option('--concurrency <n>', 'cases run at once (default 4)')
    .addHelpText(
      'after',
      `
Examples:
  $ bugzapp check --url http://127.0.0.1:8000
  $ bugzapp check --url https://staging.example.com --secret "$STAGING_JWT_SECRET" --junit check.xml
  $ bugzapp check --url http://127.0.0.1:8000 --only 5,6 --json > check.json

Exit codes: 0 every case passed, 1 a case failed (or was unsupported, without --allow-unsupported),
2 usage or harness error (a bad flag, an unreachable server). GITHUB_STEP_SUMMARY set: a Markdown
table of what failed is appended.`,
    )
    .action(async (flags: CheckFlags) => {
      await runCheckCommand(flags, io);
    });
}

export async function runCheckCommand(flags: CheckFlags, io: CliIO): Promise<void> {
  const options = resolveCheckFlags(flags, io.env);
  const json = flags.json === true;
  const tty = io.stdout.isTTY === true && !json;
  const planned = resolveCheckOptions(options).cases;
  let state: CheckViewState = initialCheckState(options.url, planned);
  // React and Ink are loaded only for a terminal view (they are about 50 MB of every command's RSS)
  const view = tty
    ? await Promise.all([import('react'), import('../ui/render-view.ts'), import('../ui/check-view.tsx')]).then(
        ([react, rv, cv]) => ({ h: react.createElement, renderView: rv.renderView, CheckView: cv.CheckView }),
      )
    : undefined;
  let ink: Instance | undefined = view ? view.renderView(view.h(view.CheckView, { state }), io) : undefined;
  const redraw = (): void => void (view && ink?.rerender(view.h(view.CheckView, { state })));
  // plain progress: lines on stdout, or on stderr when stdout carries the JSON
  const progress = json ? io.stderr : io.stdout;
  const stopInk = async (): Promise<void> => {
    if (!ink) return;
    ink.unmount();
    await ink.waitUntilExit().catch(() => undefined);
    ink = undefined;
  };
  let result: CheckResult;
  try {
    result = await runCheck(
      {
        ...options,
        onCaseStart: (c) => {
          state = caseStarted(state, c);
          redraw();
        },
        onCaseEnd: (r) => {
          state = caseEnded(state, r);
          if (ink) redraw();
          else progress.write(`${formatCheckLine(r)}\n`);
        },
      },
      { signal: io.signal },
    );
  } catch (err) {
    await stopInk();
    if (err instanceof InvalidOptionError) throw err;
    if (isBugzappError(err)) throw new CliExit(EXIT_USAGE, `error: the check could not run: ${err.message} (${err.code})`);
    throw err;
  }
  if (ink) {
    state = withResult(state, result);
    redraw();
    await stopInk();
  } else if (json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    io.stdout.write(formatCheckText(result));
  }
  const write = async (what: string, path: string, text: string, append = false): Promise<void> => {
    try {
      await mkdir(dirname(path), { recursive: true });
      await (append ? appendFile(path, text) : writeFile(path, text));
    } catch (err) {
      throw new CliExit(EXIT_USAGE, `error: cannot write the ${what} to ${path}: ${(err as Error).message}`);
    }
  };
  if (flags.junit) await write('JUnit report', flags.junit, formatCheckJUnit(result, { allowUnsupported: options.allowUnsupported === true }));
  if (io.env.GITHUB_STEP_SUMMARY) await write('step summary', io.env.GITHUB_STEP_SUMMARY, formatCheckMarkdown(result), true);
  io.exitCode = checkExitCode(result, options.allowUnsupported === true);
}
