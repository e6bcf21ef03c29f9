// `bugzapp listen`: tail what one user receives, live, through drops. An Ink view in a terminal; one
// NDJSON line per event on stdout (status lines on stderr) when piped or with --json.
import type { Instance } from 'ink';
import { Command } from 'commander';
import { InvalidOptionError } from '../../errors.ts';
import { LOGGED_EVENT_TYPES, type LoggedEvent, type LoggedEventType } from '../../protocol/index.ts';
import { parseDuration } from '../../units.ts';
import type { CliIO } from '../io.ts';
import {
  describeConnection,
  describeResume,
  initialListenState,
  withClientState,
  withConnected,
  withEvent,
  withResume,
  withServerError,
  type ListenState,
} from '../ui/listen-state.ts';
import { addTargetOptions, resolveTarget, tokenFor, type TargetFlags } from './fire.ts';

interface ListenFlags extends TargetFlags {
  user?: string;
  type?: string;
  json?: boolean;
  maxRetries?: string;
  retryBase?: string;
  since?: string;
}

export interface ListenSettings {
  user: string | undefined;
  types: Set<LoggedEventType> | undefined;
  json: boolean;
  maxRetries: number;
  backoffBaseMs: number;
  since: string | undefined;
}

export function listenSettingsFromFlags(flags: ListenFlags, io: CliIO): ListenSettings {
  const user = flags.user?.trim();
  if (flags.user !== undefined && !user) throw new InvalidOptionError('--user', 'must not be empty');
  if (!user && flags.token === undefined) throw new InvalidOptionError('--user', 'required (or give --token)');
  let types: Set<LoggedEventType> | undefined;
  if (flags.type !== undefined) {
    const list = flags.type.split(',').map((t) => t.trim()).filter(Boolean);
    const bad = list.filter((t) => !(LOGGED_EVENT_TYPES as readonly string[]).includes(t));
    if (list.length === 0 || bad.length > 0) {
      throw new InvalidOptionError('--type', `expected a comma list of ${LOGGED_EVENT_TYPES.join(', ')}, got '${flags.type}'`);
    }
    types = new Set(list as LoggedEventType[]);
  }
  let maxRetries = 5;
  if (flags.maxRetries !== undefined) {
    if (!/^\d+$/.test(flags.maxRetries) || Number(flags.maxRetries) > 1_000_000) {
      throw new InvalidOptionError('--max-retries', `expected an integer >= 0 (0 = forever), got '${flags.maxRetries}'`);
    }
    maxRetries = Number(flags.maxRetries);
  }
  let backoffBaseMs = 1000;
  if (flags.retryBase !== undefined) {
    const ms = parseDuration(flags.retryBase);
    if (ms === undefined) throw new InvalidOptionError('--retry-base', `expected a duration like 1s or 250ms, got '${flags.retryBase}'`);
    backoffBaseMs = ms;
  }
  if (flags.since !== undefined && flags.since.trim() === '') throw new InvalidOptionError('--since', 'must not be empty');
  return {
    user,
    types,
    json: flags.json === true || io.stdout.isTTY !== true,
    maxRetries,
    backoffBaseMs,
    since: flags.since,
  };
}

/** One NDJSON line: the event as received plus `receivedAt` (ISO-8601). */
export function formatEventLine(event: LoggedEvent, receivedAt: number): string {
  return `${JSON.stringify({ ...event, receivedAt: new Date(receivedAt).toISOString() })}\n`;
}

export function registerListenCommand(program: Command, io: CliIO): void {
  const cmd = program
    .command('listen')
    .description("Tail one user's events live (reconnects with backoff and resumes without losing events).");
  addTargetOptions(cmd)
    .option('--user <id>', 'the user to listen as (the token is minted for it); required unless --token')
    .option('--type <types>', `only these event types, comma-separated: ${LOGGED_EVENT_TYPES.join(',')}`)
    .option('--json', 'one NDJSON line per event on stdout (the default when stdout is not a terminal)')
    .option('--max-retries <n>', 'consecutive failed reconnects before giving up, 0 = forever (default 5)')
    .option('--retry-base <duration>', 'backoff ceiling of the first retry, doubling per retry, full jitter (default 1s)')
    .option('--since <seq>', 'start by resuming after this seq')
    .addHelpText(
      'after',
      `
Examples:
  $ bugzapp listen --user 42
  $ bugzapp listen --user 42 --json | jq -c 'select(.type == "notification")'
  $ bugzapp listen --user 42 --type bug_report,notification --url http://127.0.0.1:9000
  $ BUGZAPP_JWT_SECRET=s3cret bugzapp listen --user 7 --max-retries 0
Ctrl-C exits 0; a refused token or exhausted retries exit 1 and say why.`,
    )
    .action(async (flags: ListenFlags) => {
      const target = resolveTarget(flags, io.env);
      const settings = listenSettingsFromFlags(flags, io);
      await runListen(target, settings, io);
    });
}

async function runListen(target: ReturnType<typeof resolveTarget>, settings: ListenSettings, io: CliIO): Promise<void> {
  const user = settings.user ?? '';
  // the client, React and Ink load when the command runs, so that start-up stays quick
  const { createClient } = await import('../../client/client.ts');
  const view = settings.json ? undefined : await loadListenView();
  const client = createClient({
    url: target.url,
    tokenProvider: () => tokenFor(target, user),
    maxRetries: settings.maxRetries,
    backoffBaseMs: settings.backoffBaseMs,
    ...(settings.since !== undefined ? { since: settings.since } : {}),
  });
  let state: ListenState = initialListenState(client.url, settings.user);
  let ink: Instance | undefined;
  const status = (line: string): void => {
    if (settings.json) io.stderr.write(`listen: ${line}\n`);
  };
  const update = (next: ListenState): void => {
    state = next;
    if (ink && view) ink.rerender(view.element(state));
  };

  if (!settings.json) {
    // only reached when stdout is a terminal (or a test stands in for one)
    ink = view!.renderView(view!.element(state), io, { interactive: true });
  }

  status(`connecting to ${client.url}${settings.user ? ` as user ${settings.user}` : ''}`);
  client.on('state', (s) => {
    const next = withClientState(state, s);
    if (s.state === 'reconnecting' || (s.state === 'connecting' && s.attempt === 0 && state.connections > 0)) {
      status(describeConnection(next.connection));
    }
    update(next);
  });
  client.on('connected', (info) => {
    const next = withConnected(state, info);
    status(describeConnection(next.connection));
    update(next);
  });
  client.on('resumed', ({ replayed }) => {
    const next = withResume(state, { kind: 'resumed', replayed });
    status(describeResume(next.resume)!);
    update(next);
  });
  client.on('resume-window-exceeded', ({ oldest }) => {
    const next = withResume(state, { kind: 'window-exceeded', oldest });
    status(describeResume(next.resume)!);
    update(next);
  });
  client.on('resume-unsupported', () => {
    const next = withResume(state, { kind: 'unsupported' });
    status(describeResume(next.resume)!);
    update(next);
  });
  client.on('message', (msg) => {
    if (msg.type !== 'error') return;
    status(`server error: ${msg.payload.message}`);
    update(withServerError(state, msg.payload.message));
  });
  // `listen | head -1`: the reader went away; stop quietly like any Unix filter would
  let outputError: Error | undefined;
  const out = io.stdout as { on?: (e: 'error', l: (err: Error) => void) => unknown; off?: (e: 'error', l: (err: Error) => void) => unknown };
  const onOutputError = (err: Error): void => {
    if (outputError) return;
    outputError = err;
    void client.close();
  };
  out.on?.('error', onOutputError);
  client.on('event', (event, receivedAt) => {
    if (settings.types && !settings.types.has(event.type)) return;
    if (ink) update(withEvent(state, event, receivedAt));
    else {
      // NDJSON: the line is the output; the state only keeps the count for the closing status line
      state.total++;
      if (!outputError) io.stdout.write(formatEventLine(event, receivedAt));
    }
  });

  const onAbort = (): void => void client.close();
  if (io.signal.aborted) onAbort();
  else io.signal.addEventListener('abort', onAbort, { once: true });
  // failures surface through waitClosed; connect() only starts the client
  client.connect().catch(() => undefined);
  const { error } = await client.waitClosed();
  io.signal.removeEventListener('abort', onAbort);
  out.off?.('error', onOutputError);
  // the last frame is written on unmount; main() drains stdout before the process exits
  ink?.unmount();
  if (error) throw error;
  if (outputError && (outputError as NodeJS.ErrnoException).code !== 'EPIPE') throw outputError;
  status(`stopped after ${state.total} event${state.total === 1 ? '' : 's'}`);
  io.exitCode = 0;
}

async function loadListenView() {
  const [{ createElement }, { renderView }, { ListenView }] = await Promise.all([
    import('react'),
    import('../ui/render-view.ts'),
    import('../ui/listen-view.tsx'),
  ]);
  return { renderView, element: (state: ListenState) => createElement(ListenView, { state }) };
}
