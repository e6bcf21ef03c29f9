// `bugzapp load`: maps flags (over a scenario file, over defaults) to runLoadTest, renders progress (an
// Ink dashboard in a terminal, plain lines on stderr otherwise), judges the result against the gates and
// writes the reports. Exit 0 pass, 1 a gate or check failed, 2 usage or harness error, 3 invalid run.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Instance } from 'ink';
import { Command } from 'commander';
import { BugzappError, InvalidOptionError, isBugzappError } from '../../errors.ts';
import { FIGURE_NAMES, mergeGates, parseGate, type Gate } from '../../loadtest/gates.ts';
import { plannedEvents, resolveLoadTestOptions } from '../../loadtest/options.ts';
import { buildLoadReport, formatJsonReport, type LoadReport } from '../../loadtest/report-json.ts';
import { formatHtmlReport } from '../../loadtest/report-html.ts';
import { formatJUnit } from '../../loadtest/report-junit.ts';
import { formatMarkdownSummary } from '../../loadtest/report-markdown.ts';
import { formatTextSummary } from '../../loadtest/report-text.ts';
import { parseChurn, parseSlow, parseStorm } from '../../loadtest/churn.ts';
import { loadScenario, parseMix, type Scenario } from '../../loadtest/scenario.ts';
import { parseShardSpec, type DistributedOptions } from '../../loadtest/shard-plan.ts';
import type { LoadTestInput, LoadTestOptions, LoadTestResult } from '../../loadtest/types.ts';
import { parseBytes, parseDuration, parseRate } from '../../units.ts';
import { CliExit, type CliIO } from '../io.ts';
import { createProgressPrinter, initialLoadState, reduceLoadProgress, withReport, type LoadViewState } from '../ui/load-state.ts';

export interface LoadFlags {
  url?: string[];
  secret?: string;
  users?: string;
  connsPerUser?: string;
  connectRate?: string;
  events?: string;
  duration?: string;
  rate?: string;
  mix?: string;
  drainTimeout?: string;
  scenario?: string;
  gate?: string[];
  report?: string;
  junit?: string;
  html?: string;
  json?: boolean;
  workers?: string;
  rateLimit?: string;
  skipRateLimit?: boolean;
  coordinator?: string;
  runId?: string;
  shard?: string;
  shardWait?: string;
  churn?: string;
  storm?: string[];
  slow?: string;
  eventBytes?: string;
  seed?: string;
  tokenTtl?: string;
}

export interface LoadSettings {
  /** What runLoadTest gets: flags over the scenario file; defaults are runLoadTest's own. */
  input: LoadTestInput;
  /** Resolved once here, so a bad combination fails before any connection opens. */
  options: LoadTestOptions;
  gates: Gate[];
  /** Plain output (progress on stderr, summary or JSON on stdout) instead of the dashboard. */
  plain: boolean;
  json: boolean;
  reportPath: string | undefined;
  junitPath: string | undefined;
  htmlPath: string | undefined;
  scenarioName: string | undefined;
  /** A sharded run (--coordinator, --run-id, --shard): this process is shard K of N. */
  distributed: DistributedOptions | undefined;
}

/** Exit code of a usage or harness error (a bad flag, a bad scenario, a run that could not happen). */
const EXIT_USAGE = 2;

function int(flag: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) {
    throw new InvalidOptionError(flag, `expected an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got '${text}'`);
  }
  return Number(t);
}

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim().replace(/\/s$/, '');
  const n = /^\d+(\.\d+)?$/.test(t) ? Number(t) : NaN;
  if (!(n > 0)) throw new InvalidOptionError(flag, `expected a number > 0 (per second), got '${text}'`);
  return n;
}

function duration(flag: string, text: string | undefined, allowZero: boolean): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || (!allowZero && ms <= 0)) throw new InvalidOptionError(flag, `expected a duration like 30s or 500ms, got '${text}'`);
  return ms;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Flags, then env (BUGZAPP_URL, BUGZAPP_JWT_SECRET), then the scenario file, then runLoadTest's
 * defaults. Each bad flag throws InvalidOptionError naming it; bad gates ERR_GATE_SYNTAX naming the gate.
 */
export function resolveLoadSettings(
  flags: LoadFlags,
  env: Record<string, string | undefined>,
  stdoutIsTTY: boolean,
  scenario?: Scenario,
): LoadSettings {
  const fromFlags: LoadTestInput = {};
  const set = <K extends keyof LoadTestInput>(key: K, value: LoadTestInput[K] | undefined): void => {
    if (value !== undefined) fromFlags[key] = value;
  };
  const urls = flags.url ?? (env.BUGZAPP_URL ? env.BUGZAPP_URL.split(',').map((u) => u.trim()).filter(Boolean) : undefined);
  if (urls) {
    for (const u of urls) {
      let ok = false;
      try {
        ok = ['http:', 'https:', 'ws:', 'wss:'].includes(new URL(u).protocol);
      } catch {
        ok = false;
      }
      if (!ok) throw new InvalidOptionError('--url', `expected an http(s):// or ws(s):// URL, got '${u}'${flags.url ? '' : ' from BUGZAPP_URL'}`);
    }
    set('urls', urls);
  }
  if (flags.secret !== undefined && flags.secret === '') throw new InvalidOptionError('--secret', 'must not be empty');
  set('secret', flags.secret ?? (env.BUGZAPP_JWT_SECRET || undefined));
  set('users', int('--users', flags.users, 1, 1_000_000));
  set('connsPerUser', int('--conns-per-user', flags.connsPerUser, 1, 10_000));
  set('connectRate', positive('--connect-rate', flags.connectRate));
  if (flags.events !== undefined && flags.duration !== undefined) throw new InvalidOptionError('--events', 'give either --events or --duration, not both');
  set('events', int('--events', flags.events, 0, 100_000_000));
  set('durationMs', duration('--duration', flags.duration, false));
  set('rate', positive('--rate', flags.rate));
  if (flags.mix !== undefined) {
    const parsed = parseMix(flags.mix);
    if ('error' in parsed) throw new InvalidOptionError('--mix', parsed.error);
    set('mix', parsed.mix);
  }
  set('drainTimeoutMs', duration('--drain-timeout', flags.drainTimeout, true));
  set('workers', flags.workers?.trim() === 'auto' ? 'auto' : int('--workers', flags.workers, 0, 64));
  if (flags.rateLimit !== undefined) {
    const rl = parseRate(flags.rateLimit);
    if (!rl || rl.max < 1) throw new InvalidOptionError('--rate-limit', `expected max/window like 10/1s, got '${flags.rateLimit}'`);
    set('rateLimit', rl);
  }
  if (flags.skipRateLimit) set('skipRateLimit', true);
  if (flags.churn !== undefined) {
    const c = parseChurn(flags.churn);
    if ('error' in c) throw new InvalidOptionError('--churn', c.error);
    set('churn', c);
  }
  if (flags.storm !== undefined) {
    set(
      'storms',
      flags.storm.map((text) => {
        const st = parseStorm(text);
        if ('error' in st) throw new InvalidOptionError('--storm', st.error);
        return st;
      }),
    );
  }
  if (flags.slow !== undefined) {
    const sl = parseSlow(flags.slow);
    if ('error' in sl) throw new InvalidOptionError('--slow', sl.error);
    set('slow', sl);
  }
  if (flags.eventBytes !== undefined) {
    const b = parseBytes(flags.eventBytes);
    if (b === undefined || b > 90_000) throw new InvalidOptionError('--event-bytes', `expected a size up to 90kb, e.g. 32kb, got '${flags.eventBytes}'`);
    set('eventBytes', b);
  }
  set('seed', int('--seed', flags.seed, 0, 0xffffffff));
  const ttl = duration('--token-ttl', flags.tokenTtl, false);
  if (ttl !== undefined && ttl < 1000) throw new InvalidOptionError('--token-ttl', `expected at least 1s (tokens expire in whole seconds), got '${flags.tokenTtl}'`);
  set('tokenTtlMs', ttl);
  if (flags.report !== undefined && flags.report.trim() === '') throw new InvalidOptionError('--report', 'expected a file path');
  if (flags.junit !== undefined && flags.junit.trim() === '') throw new InvalidOptionError('--junit', 'expected a file path');
  if (flags.html !== undefined && flags.html.trim() === '') throw new InvalidOptionError('--html', 'expected a file path');

  const base: LoadTestInput = { ...(scenario?.input ?? {}) };
  // a count or a duration given as a flag replaces whichever of the two the scenario set
  if (fromFlags.events !== undefined || fromFlags.durationMs !== undefined) {
    delete base.events;
    delete base.durationMs;
  }
  const input: LoadTestInput = { ...base, ...fromFlags };
  let options: LoadTestOptions;
  try {
    options = resolveLoadTestOptions(input);
  } catch (err) {
    if (isBugzappError(err) && err.code === 'ERR_LOADTEST_TARGET') throw new InvalidOptionError('--url', err.message);
    throw err;
  }
  const flagGates = (flags.gate ?? []).map((g) => parseGate(g));
  const gates = mergeGates(scenario?.gates ?? [], flagGates);
  const json = flags.json === true;
  const distributed = resolveSharding(flags, env);
  return {
    distributed,
    input,
    options,
    gates,
    plain: json || !stdoutIsTTY,
    json,
    reportPath: flags.report,
    junitPath: flags.junit,
    htmlPath: flags.html,
    scenarioName: scenario ? (scenario.name ?? scenario.source) : undefined,
  };
}

/** --coordinator, --run-id and --shard go together; --shard-wait needs them. */
function resolveSharding(flags: LoadFlags, env: Record<string, string | undefined>): DistributedOptions | undefined {
  const given = [flags.coordinator, flags.runId, flags.shard].filter((x) => x !== undefined).length;
  if (given === 0) {
    if (flags.shardWait !== undefined) throw new InvalidOptionError('--shard-wait', 'only with --coordinator, --run-id and --shard');
    return undefined;
  }
  if (flags.coordinator === undefined) throw new InvalidOptionError('--coordinator', 'a sharded run needs --coordinator redis://HOST:PORT');
  if (flags.runId === undefined) throw new InvalidOptionError('--run-id', 'a sharded run needs --run-id, the same on every shard');
  if (flags.shard === undefined) throw new InvalidOptionError('--shard', 'a sharded run needs --shard K/N (or auto/N)');
  let ok = false;
  try {
    ok = ['redis:', 'rediss:'].includes(new URL(flags.coordinator).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new InvalidOptionError('--coordinator', `expected a redis:// URL, got '${flags.coordinator}'`);
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(flags.runId)) throw new InvalidOptionError('--run-id', `expected 1 to 100 of A-Z a-z 0-9 . _ -, got '${flags.runId}'`);
  const spec = parseShardSpec(flags.shard, env);
  if ('error' in spec) throw new InvalidOptionError('--shard', spec.error);
  const shardWaitMs = duration('--shard-wait', flags.shardWait, false);
  return { coordinator: flags.coordinator, runId: flags.runId, ...spec, ...(shardWaitMs !== undefined ? { shardWaitMs } : {}) };
}

export function registerLoadCommand(program: Command, io: CliIO): void {
  program
    .command('load')
    .description(
      'Load-test a server: prove every event reached every client that should get it exactly once, measure push latency, check the rate limit, gate CI on the figures.',
    )
    .option('--url <url>', 'target base URL, repeatable to spread over instances [env BUGZAPP_URL, comma-separated] (default: start the reference server)', collect)
    .option('--secret <secret>', 'HS256 secret to mint tokens with [env BUGZAPP_JWT_SECRET] (default: the dev secret)')
    .option('--users <n>', 'simulated users (default 100)')
    .option('--conns-per-user <n>', 'connections per user (default 1)')
    .option('--connect-rate <n>', 'new connections per second while connecting (default 500)')
    .option('--events <n>', 'REST operations to fire (default 200; exclusive with --duration)')
    .option('--duration <duration>', 'fire for this long instead, e.g. 30s (events = rate x duration)')
    .option('--rate <n>', 'open arrival rate of REST operations per second (default 50)')
    .option('--mix <weights>', 'operation weights (default bug_report:70,comment:20,update:10; also delete)')
    .option('--drain-timeout <duration>', 'how long to wait for what is still expected after the last fire (default 10s)')
    .option('--scenario <file>', 'a scenario file (fixtures/scenarios/*.json); flags override it')
    .option('--gate <expr>', 'a gate like "p99<=50ms", repeatable; replaces the scenario gates on the same figure', collect)
    .option('--report <file>', 'write the whole report as JSON')
    .option('--junit <file>', 'write one JUnit test case per gate and per check')
    .option('--html <file>', 'write a self-contained HTML page: verdict, tables and charts over time')
    .option('--json', 'print the JSON report on stdout instead of the summary (progress stays on stderr)')
    .option('--workers <n|auto>', 'worker threads holding the connections, 0 = main thread; auto = the cores the server leaves free, at least 1 (0 under 1,000 connections) (default auto)')
    .option('--rate-limit <max/window>', 'the limit to check, e.g. 10/1s (default: what the server advertises, else measured)')
    .option('--skip-rate-limit', 'skip the rate-limit probe')
    .option('--coordinator <redis-url>', 'sharded run: the Redis the shards coordinate through, e.g. redis://10.0.0.5:6379')
    .option('--run-id <id>', 'sharded run: names the run, the same on every shard')
    .option('--shard <K/N>', 'sharded run: this is shard K of N (auto/N: K from JOB_COMPLETION_INDEX + 1)')
    .option('--shard-wait <duration>', 'sharded run: how long to wait for the other shards (default 5m)')
    .option('--churn <P%/interval>', 'every interval from the start of firing, cut P% of the open connections abruptly (no close frame), e.g. 5%/2s')
    .option('--storm <P%@T>', 'at T after firing starts, cut P% of the connections at once, e.g. 50%@10s; repeatable', collect)
    .option('--token-ttl <duration>', 'mint tokens with this lifetime, e.g. 5s: on 4001 each connection mints a fresh one and resumes')
    .option(
      '--slow <P%[:duration]>',
      'from the start of firing, P% of the connections stop reading their socket, for the duration or (without one) until firing ends, at most a heartbeat interval; the server should close them with 4008 and they resume; their latency is reported apart (slow_p99), e.g. 2% or 2%:5s',
    )
    .option('--event-bytes <size>', "pad fired events' text by about this much, e.g. 32kb (comments up to their 10,000-byte limit): bigger frames fill a paused connection's buffers sooner (default: none, ~300-byte events)")
    .option('--seed <n>', 'seed of the choice of connections to cut or pause (default: random, printed in the report)')
    .addHelpText(
      'after',
      `
Examples:
  $ bugzapp load                                          # starts the reference server and runs against it
  $ bugzapp load --scenario fixtures/scenarios/smoke.json --json > report.json
  $ bugzapp load --url http://127.0.0.1:8000 --users 500 --events 1000 --rate 50 \\
      --gate "delivery==100%" --gate "p99<=50ms" --gate "misrouted==0" --junit load.xml
  $ bugzapp load --url http://127.0.0.1:8001 --url http://127.0.0.1:8002 --duration 30s --workers 2
  $ bugzapp load --users 100 --events 200 --rate 40 --report R.json --html R.html
  $ bugzapp load --url http://127.0.0.1:8000 --users 3000 --events 900 --rate 30 \
      --coordinator redis://127.0.0.1:6379 --run-id nightly-42 --shard 2/3   # one of three shards
  $ bugzapp load --users 200 --events 300 --rate 30 --churn 10%/2s --storm 50%@5s
  $ bugzapp load --url http://127.0.0.1:8000 --churn 5%/2s --gate "lost_in_gaps<=50"   # a server without resume
  $ bugzapp serve --port 8000 --slow-consumer-limit 256kb &
  $ bugzapp load --url http://127.0.0.1:8000 --users 200 --events 300 --rate 30 --slow 2% --event-bytes 32kb \\
      --gate "slow_consumer_closes>0" --gate "slow_not_closed==0"   # loopback buffers take ~4 MB first

Gates: <figure> <op> <value>[unit], ops == != <= >= < >, units % ms s /s. Figures include
  delivery, missing, duplicated, misrouted, out_of_order, late (also .bug_report/.comment/.notification),
  p50 p90 p99 p999 max, broadcast_p99, notification_p99, spread_p99, connect_p99, rest_p99,
  p99_max_1s (the worst one-second p99), deliveries_per_sec, connect_errors, rest_errors, rest_unanswered,
  rest_answered_late, drain_complete (pass|fail), rate_limit (pass|fail|unsupported|skipped),
  cuts, reconnects, reconnect_p50, reconnect_p99, resume_p99, replayed, gave_up, lost_in_gaps,
  storm_all_back, slow_consumer_closes, slow_paused, slow_not_closed, slow_p99, token_refreshes,
  event_loop_lag_p99 (${FIGURE_NAMES.length} in all; see the JSON report's "figures").
With --churn or --storm, events fired while a connection reconnects without resume are lost: that
  fails the run unless a gate allows it (--gate "lost_in_gaps<=N").
Every REST operation is accounted for: one never answered, failed or answered after the drain fails
  the rest check unless a gate on its figure judges it (--gate "rest_unanswered<=4").
Exit: 0 pass, 1 a gate or check failed (or Ctrl-C stopped the run), 2 usage or harness error
  (a crashed worker thread included; in a sharded run, a shard that never registered, reported or
  finished, named),
  3 invalid run (the load generator saturated). GITHUB_STEP_SUMMARY set: a Markdown summary is appended.`,
    )
    .action(async (flags: LoadFlags) => {
      await runLoadCommand(flags, io);
    });
}

function usageError(err: BugzappError): CliExit {
  return new CliExit(EXIT_USAGE, `error: ${err.message} (${err.code})`);
}

export async function runLoadCommand(flags: LoadFlags, io: CliIO): Promise<void> {
  let settings: LoadSettings;
  try {
    const scenario = flags.scenario !== undefined ? await loadScenario(flags.scenario) : undefined;
    settings = resolveLoadSettings(flags, io.env, io.stdout.isTTY === true, scenario);
  } catch (err) {
    if (err instanceof InvalidOptionError) throw err;
    if (isBugzappError(err)) throw usageError(err);
    throw err;
  }

  let state: LoadViewState = initialLoadState({
    connections: settings.options.users * settings.options.connsPerUser,
    events: plannedEvents(settings.options),
    targets: settings.options.urls,
    saturationLagMs: settings.options.saturationLagMs,
    scenario: settings.scenarioName,
  });
  // the load tester, React and Ink load when the command runs, so that start-up stays quick
  const { runLoadTest, ShardCrashError } = await import('../../loadtest/run.ts');
  const view = settings.plain ? undefined : await loadDashboardView();
  let ink: Instance | undefined;
  const printer = settings.plain ? createProgressPrinter((line) => io.stderr.write(line), state) : undefined;
  if (!settings.plain) {
    ink = view!.renderView(view!.element(state), io);
  }
  const stopInk = async (): Promise<void> => {
    if (!ink) return;
    ink.unmount();
    await ink.waitUntilExit().catch(() => undefined);
    ink = undefined;
  };

  let result: LoadTestResult;
  try {
    result = await runLoadTest(settings.input, {
      signal: io.signal,
      ...(settings.distributed ? { distributed: settings.distributed } : {}),
      onProgress: (e) => {
        if (printer) printer.onProgress(e);
        else {
          state = reduceLoadProgress(state, e);
          if (ink && view) ink.rerender(view.element(state));
        }
      },
    });
  } catch (err) {
    await stopInk();
    if (err instanceof InvalidOptionError) throw err;
    // a crashed worker: its error and stack, never a partial verdict
    if (err instanceof ShardCrashError) throw new CliExit(EXIT_USAGE, `error: ${err.message} (${err.code})${err.workerStack ? `\n${err.workerStack}` : ''}`);
    if (isBugzappError(err)) throw usageError(err);
    const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
    throw new CliExit(EXIT_USAGE, `error: the load test could not run: ${stack}`);
  }

  const report = buildLoadReport(result, settings.gates);
  if (ink) {
    state = withReport(state, report);
    ink.rerender(view!.element(state));
    await stopInk();
  } else if (settings.json) {
    io.stdout.write(formatJsonReport(report));
  } else {
    io.stdout.write(formatTextSummary(report));
  }
  await writeReports(report, settings, io);
  io.exitCode = report.exitCode;
}

async function writeReports(report: LoadReport, settings: LoadSettings, io: CliIO): Promise<void> {
  const write = async (what: string, path: string, text: string, append = false): Promise<void> => {
    try {
      await mkdir(dirname(path), { recursive: true });
      if (append) await appendFile(path, text);
      else await writeFile(path, text);
    } catch (err) {
      throw new CliExit(EXIT_USAGE, `error: cannot write the ${what} to ${path}: ${(err as Error).message}`);
    }
  };
  if (settings.reportPath) await write('JSON report', settings.reportPath, formatJsonReport(report));
  if (settings.junitPath) await write('JUnit report', settings.junitPath, formatJUnit(report));
  if (settings.htmlPath) await write('HTML report', settings.htmlPath, formatHtmlReport(report));
  const summary = io.env.GITHUB_STEP_SUMMARY;
  if (summary) await write('step summary', summary, formatMarkdownSummary(report), true);
}

async function loadDashboardView() {
  const [{ createElement }, { renderView }, { LoadDashboard }] = await Promise.all([
    import('react'),
    import('../ui/render-view.ts'),
    import('../ui/load-dashboard.tsx'),
  ]);
  return { renderView, element: (state: LoadViewState) => createElement(LoadDashboard, { state }) };
}
