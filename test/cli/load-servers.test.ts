// `bugzapp load` against servers that are not ours: a faulty one (each fault in the report with its exact
// count, failed JUnit cases, exit 1) and a guide-like one (completes; what it lacks is skipped, not failed).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFaultyServer } from '../../fixtures/servers/faulty-server.ts';
import { startGuideServer } from '../../fixtures/servers/guide-server.ts';
import type { LoadReport } from '../../src/loadtest/report-json.ts';
import { captureIO } from '../helpers/cli.ts';
import { runCli } from '../../src/cli/index.ts';

const SECRET = 'load-cli-secret';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bugzapp-load-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** testcase name -> its outcome, read off the JUnit file (the XML itself is checked in report.test.ts). */
function junitOutcomes(xml: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of xml.split('<testcase ').slice(1)) {
    const name = / name="([^"]*)"/.exec(block)![1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    out[name] = block.includes('<failure') ? 'failure' : block.includes('<skipped') ? 'skipped' : 'pass';
  }
  return out;
}

describe('bugzapp load against a faulty server', () => {
  it('reports every fault with its exact count, fails the JUnit cases and exits 1', async () => {
    const server = await startFaultyServer({
      secret: SECRET,
      faultsFromConnections: 10,
      dropBroadcasts: [3],
      dropTo: 2,
      duplicateBroadcast: 5,
      misrouteNotification: 1,
    });
    onTestFinished(() => server.close());
    const dir = await tempDir();
    const junitPath = join(dir, 'junit.xml');
    const c = captureIO();
    const code = await runCli(
      [
        'load', '--url', server.url, '--secret', SECRET, '--users', '5', '--conns-per-user', '2', '--events', '12', '--rate', '200',
        '--mix', 'bug_report:1', '--drain-timeout', '1500ms', '--json', '--junit', junitPath, '--gate', 'missing==0', '--gate', 'p99<=10s',
      ],
      c.io,
    );
    expect(code, c.err()).toBe(1);
    expect(server.stats).toMatchObject({ dropped: 2, duplicated: 1, misrouted: 1 });
    const report = JSON.parse(c.out()) as LoadReport;
    expect(report.verdict).toBe('fail');
    const checks = Object.fromEntries(report.checks.map((x) => [x.name, x]));
    expect(checks['delivery.bug_report']).toMatchObject({ status: 'fail', detail: expect.stringMatching(/; 2 missing, 1 duplicated$/) });
    expect(checks['delivery.notification']).toMatchObject({ status: 'fail', detail: expect.stringMatching(/; 1 misrouted$/) });
    expect(checks.misrouted).toMatchObject({ status: 'fail', detail: '1 notification reached a connection of another user' });
    expect(checks['rate-limit']!.status).toBe('fail');
    expect(report.gates).toEqual([
      expect.objectContaining({ expression: 'missing==0', actual: 2, pass: false }),
      expect.objectContaining({ expression: 'p99<=10s', pass: true }),
    ]);
    expect(report.reasons).toContain('gate missing==0 failed: actual 2');
    const outcomes = junitOutcomes(await readFile(junitPath, 'utf8'));
    expect(outcomes).toMatchObject({
      'missing==0': 'failure',
      'p99<=10s': 'pass',
      'delivery.bug_report': 'failure',
      'delivery.notification': 'failure',
      misrouted: 'failure',
      'rate-limit': 'failure',
      connections: 'pass',
    });
  });
});

describe('bugzapp load against a guide-like server', () => {
  it('completes; unsupported capabilities are skipped test cases and the run passes without the rate-limit probe', async () => {
    const server = await startGuideServer({ secret: SECRET });
    onTestFinished(() => server.close());
    const dir = await tempDir();
    const junitPath = join(dir, 'junit.xml');
    const c = captureIO();
    const code = await runCli(
      [
        'load', '--url', server.url, '--secret', SECRET, '--users', '4', '--events', '10', '--rate', '200',
        '--mix', 'bug_report:80,update:20', '--drain-timeout', '3s', '--skip-rate-limit', '--junit', junitPath, '--gate', 'delivery==100%',
      ],
      c.io,
    );
    expect(code, c.err() + c.out()).toBe(0);
    expect(c.out().split('\n')[0]).toBe('bugzapp load: PASS');
    const unsupportedLine = c.out().split('\n').find((l) => l.startsWith('  unsupported  ')) ?? '';
    for (const name of ['seq', 'cursor', 'restAuth', 'patch', 'delete']) expect(unsupportedLine).toContain(`${name} (unsupported)`);
    const outcomes = junitOutcomes(await readFile(junitPath, 'utf8'));
    expect(outcomes).toMatchObject({
      'delivery==100%': 'pass',
      'delivery.bug_report': 'pass',
      'capability.seq': 'skipped',
      'capability.cursor': 'skipped',
      'capability.restAuth': 'skipped',
      'rate-limit': 'skipped',
    });
  });
});

describe('bugzapp load against a server that holds every Nth POST forever', () => {
  // stores nothing, pushes nothing, never answers: a gate that passed it would be trusted and wrong
  // the drain ends as soon as everything owed arrived (a clean run), or at its timeout (held POSTs stay in
  // flight): long enough that a loaded machine does not make answered deliveries late
  const run = async (hold: number | undefined, extra: string[] = []) => {
    const server = await startFaultyServer({
      secret: SECRET,
      enforceRateLimit: { max: 10, windowMs: 1000 },
      ...(hold !== undefined ? { holdEveryNthPost: hold } : {}),
    });
    onTestFinished(() => server.close());
    const dir = await tempDir();
    const junitPath = join(dir, 'junit.xml');
    const c = captureIO();
    const code = await runCli(
      [
        'load', '--url', server.url, '--secret', SECRET, '--users', '5', '--events', '20', '--rate', '100', '--mix', 'bug_report:100',
        '--drain-timeout', hold === undefined ? '5s' : '2s', '--skip-rate-limit', '--json', '--junit', junitPath, ...extra,
      ],
      c.io,
    );
    return { code, c, server, report: JSON.parse(c.out()) as LoadReport, junit: junitOutcomes(await readFile(junitPath, 'utf8')) };
  };

  it('fails the rest check and exits 1, naming the operations never answered', async () => {
    const { code, c, server, report, junit } = await run(5);
    expect(code, c.err()).toBe(1);
    expect(server.stats.held).toBe(4);
    expect(report.verdict).toBe('fail');
    expect(report.throughput.restUnanswered).toBe(4);
    // the operations' numbers are their firing order, carried in the nonce of each title (creates only)
    const held = server.heldTitles.map((t) => Number(/\.(\d+)~/.exec(t)![1])).sort((a, b) => a - b);
    expect(held).toHaveLength(4);
    expect(report.checks.find((x) => x.name === 'rest')).toMatchObject({
      status: 'fail',
      detail: `4 of 20 REST operations never answered: ${held.map((n) => `#${n}`).join(', ')}`,
    });
    expect(report.figures.rest_unanswered).toBe(4);
    expect(junit.rest).toBe('failure');
  }, 20_000);

  it('passes the same run when a gate allows the unanswered operations', async () => {
    const { code, c, report } = await run(5, ['--gate', 'rest_unanswered<=4']);
    expect(code, c.err() + JSON.stringify(report.reasons)).toBe(0);
    expect(report.gates[0]).toMatchObject({ expression: 'rest_unanswered<=4', actual: 4, pass: true });
  }, 20_000);

  it('exits 0 against the same server without the fault', async () => {
    const { code, c, report } = await run(undefined);
    expect(code, c.err() + JSON.stringify(report.reasons)).toBe(0);
    expect(report.throughput.restUnanswered).toBe(0);
    expect(report.drainComplete).toBe(true);
  }, 20_000);
});

describe('bugzapp load when a worker thread crashes', () => {
  it('exits 2 with the worker error and its stack, never a partial verdict', async () => {
    const server = await startFaultyServer({ secret: SECRET });
    onTestFinished(() => server.close());
    // read by the worker thread (shard-worker.ts): shard 1 throws at its first event
    process.env.BUGZAPP_TEST_CRASH_SHARD = '1';
    onTestFinished(() => void delete process.env.BUGZAPP_TEST_CRASH_SHARD);
    const c = captureIO();
    const code = await runCli(
      ['load', '--url', server.url, '--secret', SECRET, '--users', '4', '--events', '10', '--rate', '100', '--workers', '2', '--skip-rate-limit', '--json'],
      c.io,
    );
    expect(code).toBe(2);
    expect(c.out()).toBe('');
    expect(c.err()).toContain('error: shard 1 crashed: injected shard crash (BUGZAPP_TEST_CRASH_SHARD) (ERR_LOADTEST_WORKER)');
    expect(c.err()).toMatch(/\n\s+at .*shard-worker\.ts/);
  }, 30_000);
});
