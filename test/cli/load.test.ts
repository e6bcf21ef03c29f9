// `bugzapp load`: every bad flag exits 2 naming it; precedence flags > env > scenario > defaults; real
// runs in-process against our server ending in exit 0 (reports written), 1 (a gate failed), 3 (invalid),
// and a Ctrl-C that still reports; the dashboard in a terminal; one spawned `npx bugzapp load` smoke test.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { resolveLoadSettings } from '../../src/cli/commands/load.ts';
import { runCli } from '../../src/cli/index.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { parseScenario } from '../../src/loadtest/scenario.ts';
import type { LoadReport } from '../../src/loadtest/report-json.ts';
import { startTestServer, TEST_SECRET } from '../helpers/server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SMOKE = join(ROOT, 'fixtures/scenarios/smoke.json');
/** A tiny run: a handful of connections and events, fired fast; the rate-limit probe skipped. */
const TINY = ['--users', '4', '--events', '8', '--rate', '100', '--drain-timeout', '5s', '--skip-rate-limit'];

interface Captured {
  io: CliIO;
  out(): string;
  err(): string;
  abort(): void;
  /** Resolves once stderr matches; rejects after the timeout (the run's own failure shows in the message). */
  waitForErr(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

function capture(env: Record<string, string | undefined> = {}, stdout?: CliIO['stdout']): Captured {
  const controller = new AbortController();
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  const io: CliIO = {
    stdout: stdout ?? { write: (s: string) => ((out += s), true) },
    stderr: {
      write: (s: string) => {
        err += s;
        for (const w of [...watchers]) w();
        return true;
      },
    },
    env,
    signal: controller.signal,
    exitCode: 0,
  };
  return {
    io,
    out: () => out,
    err: () => err,
    abort: () => controller.abort(),
    waitForErr: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!pattern.test(err)) return;
          clearTimeout(timer);
          watchers.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`no ${pattern} on stderr in time; stderr: ${err}`));
        }, timeoutMs);
        watchers.add(check);
        check();
      }),
  };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bugzapp-load-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('bugzapp load flags', () => {
  const bad: [string[], Record<string, string>, RegExp][] = [
    [['--users', '0'], {}, /--users/],
    [['--users', 'many'], {}, /--users/],
    [['--conns-per-user', '0'], {}, /--conns-per-user/],
    [['--connect-rate', 'fast'], {}, /--connect-rate/],
    [['--events', '-1'], {}, /--events/],
    [['--events', '5', '--duration', '1s'], {}, /--events: give either/],
    [['--duration', 'soon'], {}, /--duration/],
    [['--rate', '0'], {}, /--rate/],
    [['--mix', 'bug_report=70'], {}, /--mix/],
    [['--mix', 'launch:5'], {}, /--mix: unknown operation "launch"/],
    [['--drain-timeout', 'forever'], {}, /--drain-timeout/],
    [['--workers', '999'], {}, /--workers/],
    [['--rate-limit', '10'], {}, /--rate-limit/],
    [['--secret', ''], {}, /--secret/],
    [['--url', 'ftp://127.0.0.1:1'], {}, /--url/],
    [['--url', 'http://10.1.2.3:8000'], {}, /--url: refusing to load-test 10\.1\.2\.3/],
    [[], { BUGZAPP_URL: 'not a url' }, /--url.*from BUGZAPP_URL/],
    [['--gate', 'p99<=fast'], {}, /gate "p99<=fast".*ERR_GATE_SYNTAX/],
    [['--gate', 'bogus==1'], {}, /gate "bogus==1": unknown figure "bogus".*ERR_GATE_SYNTAX/],
    [['--scenario', '/nonexistent/scenario.json'], {}, /\/nonexistent\/scenario\.json: cannot read.*ERR_LOADTEST_SCENARIO/],
    [['--report', ''], {}, /--report/],
    [['--frobnicate'], {}, /unknown option '--frobnicate'/],
  ];
  for (const [args, env, named] of bad) {
    it(`exits 2 for ${[...args.map((a) => a || "''"), ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ')}`, async () => {
      const c = capture(env);
      const code = await runCli(['load', ...args], c.io);
      expect(code).toBe(2);
      expect(c.err()).toMatch(named);
      expect(c.out()).toBe('');
    });
  }

  it('--help exits 0 with examples, the gate grammar and the exit codes', async () => {
    const c = capture();
    expect(await runCli(['load', '--help'], c.io)).toBe(0);
    expect(c.out()).toContain('--gate <expr>');
    expect(c.out()).toContain('$ bugzapp load --scenario fixtures/scenarios/smoke.json --json');
    expect(c.out()).toContain('3 invalid run');
  });

  it('exits 2 naming the field of a bad scenario file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ users: 5, evnets: 10 }));
    const c = capture();
    expect(await runCli(['load', '--scenario', file], c.io)).toBe(2);
    expect(c.err()).toContain(`${file}: evnets: unknown field`);
  });

  it('takes flags over env over the scenario over defaults', () => {
    const scenario = parseScenario(
      { users: 50, events: 100, rate: 20, drainTimeout: '3s', rateLimit: '5/1s', gates: ['p99<=50ms', 'misrouted==0'] },
      'ci.json',
    );
    const s = resolveLoadSettings(
      { users: '7', duration: '2s', gate: ['p99<=200ms', 'delivery==100%'], url: ['http://127.0.0.1:9001', 'http://127.0.0.1:9002'] },
      { BUGZAPP_URL: 'http://127.0.0.1:9999', BUGZAPP_JWT_SECRET: 'env-secret' },
      false,
      scenario,
    );
    expect(s.input).toEqual({
      urls: ['http://127.0.0.1:9001', 'http://127.0.0.1:9002'],
      secret: 'env-secret',
      users: 7,
      durationMs: 2000, // the flag's duration replaces the scenario's event count
      rate: 20,
      drainTimeoutMs: 3000,
      rateLimit: { max: 5, windowMs: 1000 },
    });
    expect(s.options).toMatchObject({ users: 7, connsPerUser: 1, rate: 20, durationMs: 2000, drainTimeoutMs: 3000 });
    expect(s.gates.map((g) => g.expression)).toEqual(['misrouted==0', 'p99<=200ms', 'delivery==100%']);
    expect(s.plain).toBe(true);
    expect(s.scenarioName).toBe('ci.json');

    const fromEnv = resolveLoadSettings({}, { BUGZAPP_URL: 'http://127.0.0.1:9001, http://127.0.0.1:9002' }, true);
    expect(fromEnv.input.urls).toEqual(['http://127.0.0.1:9001', 'http://127.0.0.1:9002']);
    expect(fromEnv.plain).toBe(false);
    expect(resolveLoadSettings({ json: true }, {}, true).plain).toBe(true);
    const defaults = resolveLoadSettings({}, {}, false);
    expect(defaults.input).toEqual({});
    expect(defaults.options).toMatchObject({ urls: [], users: 100, events: 200, rate: 50, drainTimeoutMs: 10_000 });
  });
});

describe('bugzapp load runs (in-process, against our server)', () => {
  it('smoke scenario: exit 0, summary on stdout, progress on stderr, JSON, JUnit and step summary written', async () => {
    const server = await startTestServer();
    const dir = await tempDir();
    const reportPath = join(dir, 'out', 'report.json');
    const junitPath = join(dir, 'out', 'junit.xml');
    const summaryPath = join(dir, 'summary.md');
    await writeFile(summaryPath, '# earlier step\n');
    const c = capture({ GITHUB_STEP_SUMMARY: summaryPath });
    const code = await runCli(
      ['load', '--scenario', SMOKE, '--url', server.url, '--secret', TEST_SECRET, '--report', reportPath, '--junit', junitPath],
      c.io,
    );
    expect(code, c.err()).toBe(0);
    expect(c.out().split('\n')[0]).toBe('bugzapp load: PASS');
    expect(c.err()).toContain('load: phase fire');
    expect(c.err()).toContain('load: phase done');
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as LoadReport;
    expect(report).toMatchObject({ schemaVersion: 1, verdict: 'pass', exitCode: 0, targets: [server.url], startedServer: false });
    expect(report.gates.map((g) => g.expression)).toEqual(['delivery==100%', 'misrouted==0', 'duplicated==0', 'connect_errors==0', 'p99<=500ms']);
    expect(report.gates.every((g) => g.pass)).toBe(true);
    expect(report.connections.opened).toBe(20);
    expect(report.throughput.eventsAccepted).toBe(40);
    expect(report.delivery.total.expected).toBeGreaterThan(0);
    expect(report.delivery.total.delivered).toBe(report.delivery.total.expected);
    expect(report.rateLimit.status).toBe('pass');
    const junit = await readFile(junitPath, 'utf8');
    expect(junit).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="bugzapp load" tests="\d+" failures="0"/);
    expect(junit).toContain('name="p99&lt;=500ms"');
    const summary = await readFile(summaryPath, 'utf8');
    expect(summary.startsWith('# earlier step\n### ✅ bugzapp load: pass')).toBe(true);
  });

  it('a failed gate exits 1, with --json printing the report on stdout', async () => {
    const server = await startTestServer();
    const c = capture();
    const code = await runCli(
      ['load', ...TINY, '--url', server.url, '--secret', TEST_SECRET, '--json', '--gate', 'delivery==100%', '--gate', 'events_fired==9'],
      c.io,
    );
    expect(code, c.err()).toBe(1);
    const report = JSON.parse(c.out()) as LoadReport;
    expect(report.verdict).toBe('fail');
    expect(report.gates).toEqual([
      expect.objectContaining({ expression: 'delivery==100%', actual: 100, pass: true }),
      expect.objectContaining({ expression: 'events_fired==9', actual: 8, pass: false }),
    ]);
    expect(report.reasons).toEqual(['gate events_fired==9 failed: actual 8']);
  });

  it('exits 3 when the generator saturated past the scenario bound', async () => {
    const server = await startTestServer();
    const dir = await tempDir();
    const file = join(dir, 'tight.json');
    await writeFile(file, JSON.stringify({ users: 4, events: 20, rate: 50, skipRateLimit: true, saturationLag: '5ms' }));
    const c = capture();
    // Saturate the generator for real: the run is in-process, so blocking this thread's event loop
    // for 30 ms out of every 40 ms is exactly what an overloaded generator's loop goes through.
    const hog = setInterval(() => {
      const until = performance.now() + 30;
      while (performance.now() < until);
    }, 40);
    onTestFinished(() => clearInterval(hog));
    const code = await runCli(['load', '--scenario', file, '--url', server.url, '--secret', TEST_SECRET, '--json'], c.io);
    clearInterval(hog);
    expect(code, c.err()).toBe(3);
    const report = JSON.parse(c.out()) as LoadReport;
    expect(report).toMatchObject({ verdict: 'invalid', exitCode: 3, generator: { saturated: true, saturationLagMs: 5 } });
  });

  it('Ctrl-C (the io signal) stops the run and it still reports', async () => {
    const server = await startTestServer();
    const c = capture();
    const done = runCli(['load', '--users', '4', '--events', '100000', '--rate', '50', '--url', server.url, '--secret', TEST_SECRET], c.io);
    onTestFinished(() => c.abort());
    await c.waitForErr(/load: phase fire/);
    c.abort();
    const code = await done;
    expect(code).toBe(1);
    expect(c.out().split('\n')[0]).toBe('bugzapp load: FAIL (stopped early)');
    expect(c.out()).toContain('check run failed: stopped by a signal');
  });

  it('draws the dashboard in a terminal and ends on the verdict', async () => {
    const server = await startTestServer();
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40 });
    let screen = '';
    tty.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
    const c = capture({}, tty as unknown as CliIO['stdout']);
    const code = await runCli(['load', ...TINY, '--url', server.url, '--secret', TEST_SECRET, '--gate', 'misrouted==0'], c.io);
    expect(code, c.err()).toBe(0);
    const text = screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(text).toContain('bugzapp load');
    expect(text).toContain('verdict PASS');
    expect(text).toMatch(/✓ misrouted==0\s+0\s+pass/);
    expect(text).toContain('push latency');
    expect(c.err()).not.toContain('load: phase');
  });
});

describe('npx bugzapp load (spawned)', () => {
  it('runs the smoke scenario against the server it starts itself and prints the JSON report', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.BUGZAPP_URL;
    delete env.BUGZAPP_JWT_SECRET;
    delete env.GITHUB_STEP_SUMMARY;
    const child = spawn('npx', ['bugzapp', 'load', '--scenario', 'fixtures/scenarios/smoke.json', '--json'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no exit in time; stderr: ${err}`)), 25_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code, err).toBe(0);
    const report = JSON.parse(out) as LoadReport;
    expect(report).toMatchObject({ verdict: 'pass', startedServer: true, connections: { opened: 20 } });
    expect(report.targets[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(err).toContain('load: started the reference server at http://127.0.0.1:');
  });
});
