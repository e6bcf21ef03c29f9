// A sharded load run: shards as separate processes (the built CLI), coordinated through a real
// redis-server, against a real server. Every shard prints and writes the same merged verdict; faults
// seen on any shard's connections show in it; a shard that never comes makes the others exit 2 naming it.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startFaultyServer } from '../../fixtures/servers/faulty-server.ts';
import type { LoadReport } from '../../src/loadtest/report-json.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';
import { startTestServer, TEST_SECRET } from '../helpers/server.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/bugzapp.js');
const EXIT_WAIT_MS = 60_000;

interface Exit {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs `bugzapp load ...args` as its own process (the built CLI) and resolves with its exit.
 * `killWhen`: SIGKILL it as soon as its stderr matches (a shard dying mid-run).
 */
function runShard(args: string[], killWhen?: RegExp): Promise<Exit> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.BUGZAPP_URL;
  delete env.BUGZAPP_JWT_SECRET;
  delete env.GITHUB_STEP_SUMMARY;
  const child = spawn(process.execPath, [BIN, 'load', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s;
    if (killWhen?.test(err) && child.exitCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolveExit, reject) => {
    const timer = setTimeout(() => reject(new Error(`shard ${args.join(' ')}: no exit in time; stderr: ${err}`)), EXIT_WAIT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveExit({ code, out, err });
    });
  });
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bugzapp-shards-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A scenario with a saturation bound of `lag`: three load processes on a shared 2-core runner lag more
 * than a load generator would on its own machine; these tests judge the merged delivery, and one of
 * them the merged saturation, with a bound of its own.
 */
async function scenarioFile(dir: string, lag: string): Promise<string> {
  const file = join(dir, `lag-${lag}.json`);
  await writeFile(file, JSON.stringify({ saturationLag: lag }));
  return file;
}

/** The figures every shard must agree on (what depends on the run, not on which shard printed it). */
function merged(r: LoadReport): unknown {
  return {
    verdict: r.verdict,
    figures: r.figures,
    delivery: r.delivery,
    connections: r.connections,
    throughput: r.throughput,
    latency: r.latency,
    rateLimit: r.rateLimit,
    shards: r.shards,
    checks: r.checks,
  };
}

describe.skipIf(skipRedis())('bugzapp load --shard K/N (separate processes, real Redis)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const shardArgs = (url: string, secret: string, runId: string, k: number, n: number, extra: string[] = []): string[] => [
    '--url', url, '--secret', secret, '--coordinator', redis.url, '--run-id', runId, '--shard', `${k}/${n}`, '--json', ...extra,
  ];

  it('three shards exit 0 with the same merged figures: every broadcast owed to every connection of every shard', async () => {
    const server = await startTestServer();
    const dir = await tempDir();
    const common = ['--users', '30', '--events', '30', '--rate', '30', '--drain-timeout', '5s', '--scenario', await scenarioFile(dir, '2s')];
    const exits = await Promise.all(
      [1, 2, 3].map((k) => runShard(shardArgs(server.url, TEST_SECRET, 'pass-run', k, 3, [...common, '--report', join(dir, `r${k}.json`)]))),
    );
    for (const e of exits) expect(e.code, e.err).toBe(0);
    const reports = await Promise.all([1, 2, 3].map(async (k) => JSON.parse(await readFile(join(dir, `r${k}.json`), 'utf8')) as LoadReport));
    // what each shard printed is what it wrote
    exits.forEach((e, i) => expect(merged(JSON.parse(e.out) as LoadReport)).toEqual(merged(reports[i]!)));
    expect(merged(reports[1]!)).toEqual(merged(reports[0]!));
    expect(merged(reports[2]!)).toEqual(merged(reports[0]!));
    const r = reports[0]!;
    expect(r.verdict).toBe('pass');
    expect(r.connections).toMatchObject({ target: 30, opened: 30 });
    expect(r.throughput.eventsFired).toBe(30);
    const broadcasts = r.delivery.byType.bug_report.events + r.delivery.byType.comment.events;
    expect(broadcasts).toBe(r.throughput.eventsAccepted);
    expect(r.delivery.byType.bug_report.expected + r.delivery.byType.comment.expected).toBe(broadcasts * 30);
    expect(r.delivery.total).toMatchObject({ missing: 0, duplicated: 0, misrouted: 0, unmatched: 0 });
    expect(r.delivery.total.delivered).toBe(r.delivery.total.expected);
    // one shard each: its users' connections, its share of the operations, the deliveries at its connections
    expect(r.shards!.map((s) => s.shard)).toEqual([1, 2, 3]);
    expect(r.shards!.map((s) => s.connections)).toEqual([10, 10, 10]);
    expect(r.shards!.reduce((s, x) => s + x.eventsFired, 0)).toBe(30);
    expect(r.shards!.reduce((s, x) => s + x.delivered, 0)).toBe(r.delivery.total.delivered);
    // every broadcast at each shard's 10 connections, plus the notifications of its own users
    for (const s of r.shards!) expect(s.delivered).toBeGreaterThanOrEqual(broadcasts * 10);
    expect(r.distribution).toMatchObject({ shards: 3, eligibility: 'seq-log-order' });
    // each shard's progress shows its own figures and the whole run's totals, read from the coordinator
    const runLines = exits.flatMap((e) => e.err.split('\n').filter((l) => l.includes('run (shard')));
    expect(runLines.length).toBeGreaterThan(0);
    exits.forEach((e, i) => {
      for (const l of e.err.split('\n').filter((x) => x.includes('run (shard'))) expect(l).toMatch(new RegExp(`run \\(shard ${i + 1}/3: `));
    });
    // the whole run: more fired and more connections than any one shard holds (10 each)
    const totals = runLines.map((l) => /(\d)\/3 shards connected, (\d+) connections, fired (\d+)\/30/.exec(l)!.slice(1).map(Number));
    expect(Math.max(...totals.map((t) => t[1]!))).toBe(30);
    expect(Math.max(...totals.map((t) => t[2]!))).toBeGreaterThan(10);
    expect(Math.max(...totals.map((t) => t[2]!))).toBeLessThanOrEqual(30);
    // the rate-limit probe ran once (shard 1), and passed
    expect(r.rateLimit.status).toBe('pass');
    // the coordinator's keys expire
    const client = new Redis(redis.url);
    onTestFinished(() => client.disconnect());
    const keys = await client.keys('bugzapp:run:pass-run:*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(await client.ttl(key)).toBeGreaterThan(0);
    // nothing in Redis carries the JWT secret
    for (const [, json] of Object.entries(await client.hgetall('bugzapp:run:pass-run:partials'))) expect(json).not.toContain(TEST_SECRET);
  });

  it('against a server that drops, duplicates and misroutes, every shard exits 1 and the merged report shows each fault', async () => {
    const server = await startFaultyServer({
      secret: TEST_SECRET,
      faultsFromConnections: 15,
      dropBroadcasts: [3],
      dropTo: 2,
      duplicateBroadcast: 5,
      misrouteNotification: 1,
    });
    onTestFinished(() => server.close());
    const dir = await tempDir();
    const common = ['--users', '15', '--events', '15', '--rate', '30', '--mix', 'bug_report:1', '--drain-timeout', '1500ms', '--skip-rate-limit', '--scenario', await scenarioFile(dir, '2s')];
    const exits = await Promise.all(
      [1, 2, 3].map((k) => runShard(shardArgs(server.url, TEST_SECRET, 'faulty-run', k, 3, [...common, '--report', join(dir, `r${k}.json`)]))),
    );
    for (const e of exits) expect(e.code, e.err).toBe(1);
    expect(server.stats).toMatchObject({ dropped: 2, duplicated: 1, misrouted: 1 });
    const reports = await Promise.all([1, 2, 3].map(async (k) => JSON.parse(await readFile(join(dir, `r${k}.json`), 'utf8')) as LoadReport));
    expect(merged(reports[1]!)).toEqual(merged(reports[0]!));
    expect(merged(reports[2]!)).toEqual(merged(reports[0]!));
    const r = reports[0]!;
    expect(r.verdict).toBe('fail');
    expect(r.delivery.total).toMatchObject({ missing: 2, duplicated: 1, misrouted: 1 });
    // every shard's connections are in the merged figures, wherever the faults landed
    expect(r.connections).toMatchObject({ target: 15, opened: 15 });
    expect(r.delivery.byType.bug_report.expected).toBe(r.delivery.byType.bug_report.events * 15);
    expect(r.shards!.reduce((s, x) => s + x.delivered, 0)).toBe(r.delivery.total.delivered);
    const kinds = new Set(r.delivery.firstOffenders.map((o) => o.kind));
    expect(kinds).toEqual(new Set(['missing', 'duplicated', 'misrouted']));
    for (const o of r.delivery.firstOffenders) expect(o.event).toMatch(/^(bug_report:created|notification):\d+$/);
  });

  it('with seq, a connection that gives up owes the events up to its last receipt in the log, whatever shard fired them and whenever their answers arrived', async () => {
    // after the 5th broadcast the server closes every connection for good (1008): each owes broadcasts
    // 1..5, fired by any shard, though every answer leaves 400 ms after its broadcast, so the 5th (and
    // those just before) is answered after the connections were gone: by times, nobody owed it
    const server = await startFaultyServer({ secret: TEST_SECRET, faultsFromConnections: 12, closeConnectionsAfter: 5, delayLoadAnswersMs: 400 });
    onTestFinished(() => server.close());
    const dir = await tempDir();
    const common = ['--users', '12', '--events', '12', '--rate', '30', '--mix', 'bug_report:1', '--drain-timeout', '1500ms', '--skip-rate-limit', '--scenario', await scenarioFile(dir, '2s')];
    const exits = await Promise.all(
      [1, 2, 3].map((k) => runShard(shardArgs(server.url, TEST_SECRET, 'gave-up-run', k, 3, [...common, '--report', join(dir, `r${k}.json`)]))),
    );
    expect(new Set(exits.map((e) => e.code)).size, exits.map((e) => e.err).join('\n')).toBe(1);
    const reports = await Promise.all([1, 2, 3].map(async (k) => JSON.parse(await readFile(join(dir, `r${k}.json`), 'utf8')) as LoadReport));
    expect(merged(reports[1]!)).toEqual(merged(reports[0]!));
    expect(merged(reports[2]!)).toEqual(merged(reports[0]!));
    const r = reports[0]!;
    expect(r.distribution).toMatchObject({ eligibility: 'seq-log-order' });
    expect(r.connections).toMatchObject({ opened: 12 });
    const accepted = r.delivery.byType.bug_report.events;
    expect(accepted).toBe(12);
    expect(r.delivery.byType.bug_report).toMatchObject({ expected: 5 * 12, delivered: 5 * 12, missing: 0, lostInGaps: (accepted - 5) * 12 });
  });

  it('churn and a storm on three shards: the merged cuts, reconnects and replays are the sums of the shards\', the server saw every cut, nothing missing', async () => {
    const server = await startTestServer();
    // how the server saw each connection end: a cut is a network drop (1006, no close frame)
    let abrupt = 0;
    server.events.on('disconnect', ({ code }) => {
      if (code === 1006) abrupt++;
    });
    const dir = await tempDir();
    const common = [
      '--users', '30', '--events', '90', '--rate', '30', '--churn', '20%/500ms', '--storm', '100%@1500ms', '--seed', '7',
      '--drain-timeout', '8s', '--skip-rate-limit', '--scenario', await scenarioFile(dir, '2s'),
    ];
    const exits = await Promise.all(
      [1, 2, 3].map((k) => runShard(shardArgs(server.url, TEST_SECRET, 'churn-run', k, 3, [...common, '--report', join(dir, `r${k}.json`)]))),
    );
    for (const e of exits) expect(e.code, e.err).toBe(0);
    const reports = await Promise.all([1, 2, 3].map(async (k) => JSON.parse(await readFile(join(dir, `r${k}.json`), 'utf8')) as LoadReport));
    for (const x of reports.slice(1)) {
      expect(merged(x)).toEqual(merged(reports[0]!));
      expect(x.resilience).toEqual(reports[0]!.resilience);
    }
    const r = reports[0]!;
    const x = r.resilience!;
    const each = r.shards!.map((s) => s.resilience!);
    const sum = (f: (e: (typeof each)[number]) => number): number => each.reduce((a, e) => a + f(e), 0);
    // every shard cut its own connections, and the merged figures are their sums
    for (const e of each) {
      expect(e.churnCuts).toBeGreaterThan(0);
      expect(e.stormCuts).toBeGreaterThan(0);
    }
    expect({ cuts: x.cuts, churnCuts: x.churnCuts, stormCuts: x.stormCuts, storm: x.storms[0]!.cut, reconnects: x.reconnects, replayed: x.replayed, gaveUp: x.gaveUp, lost: x.lostInGaps }).toEqual({
      cuts: sum((e) => e.cuts),
      churnCuts: sum((e) => e.churnCuts),
      stormCuts: sum((e) => e.stormCuts),
      storm: sum((e) => e.stormCutsEach[0] ?? 0),
      reconnects: sum((e) => e.reconnects),
      replayed: sum((e) => e.replayed),
      gaveUp: 0,
      lost: 0,
    });
    // the server saw every cut of every shard; each came back and the histogram holds every one
    expect(abrupt).toBe(x.cuts);
    expect(x.reconnects).toBe(x.cuts);
    expect(x.reconnectMs.count).toBe(x.cuts);
    expect(x.storms[0]!.back).toBe(x.storms[0]!.cut);
    expect(x.reconnectingAtEnd).toBe(0);
    expect(x.replayed).toBeGreaterThan(0);
    // nothing missing through the cuts, at any shard
    const t = r.delivery.total;
    expect(t.expected).toBe(r.delivery.byType.bug_report.expected + r.delivery.byType.comment.expected + r.delivery.byType.notification.expected);
    expect({ delivered: t.delivered, missing: t.missing, duplicated: t.duplicated, late: t.late }).toEqual({ delivered: t.expected, missing: 0, duplicated: 0, late: 0 });
    expect(r.figures.cuts).toBe(x.cuts);
  });

  it('one saturated shard makes the merged run invalid: every shard exits 3', async () => {
    const server = await startTestServer();
    const dir = await tempDir();
    const relaxed = await scenarioFile(dir, '10s');
    // shard 3 alone holds its event loop to a bound no real loop meets: its saturation is the run's
    const strict = await scenarioFile(dir, '1ms');
    const common = ['--users', '6', '--events', '6', '--rate', '30', '--skip-rate-limit'];
    const exits = await Promise.all(
      [1, 2, 3].map((k) =>
        runShard(shardArgs(server.url, TEST_SECRET, 'saturated-run', k, 3, [...common, '--scenario', k === 3 ? strict : relaxed, '--report', join(dir, `r${k}.json`)])),
      ),
    );
    for (const e of exits) expect(e.code, e.err).toBe(3);
    const r = JSON.parse(await readFile(join(dir, 'r1.json'), 'utf8')) as LoadReport;
    expect(r.verdict).toBe('invalid');
    expect(r.generator.saturated).toBe(true);
    expect(r.shards!.map((s) => s.saturated)).toEqual([false, false, true]);
  });

  it('a shard that dies while firing makes the others exit 2 naming it', async () => {
    const server = await startTestServer();
    const common = ['--users', '6', '--events', '90', '--rate', '30', '--shard-wait', '3s', '--skip-rate-limit'];
    const exits = await Promise.all(
      [1, 2, 3].map((k) => runShard(shardArgs(server.url, TEST_SECRET, 'dying-run', k, 3, common), k === 3 ? /phase fire/ : undefined)),
    );
    expect(exits[2]!.code).toBe(null);
    for (const e of exits.slice(0, 2)) {
      expect(e.code, e.err).toBe(2);
      expect(e.err).toMatch(/shard 3 did not finish firing within 3 s/);
      expect(e.out).toBe('');
    }
  });

  it('two of three shards started: both exit 2 and name shard 3', async () => {
    const server = await startTestServer();
    const common = ['--users', '6', '--events', '6', '--rate', '30', '--shard-wait', '2s', '--skip-rate-limit'];
    const exits = await Promise.all([1, 2].map((k) => runShard(shardArgs(server.url, TEST_SECRET, 'missing-run', k, 3, common))));
    for (const e of exits) {
      expect(e.code, e.err).toBe(2);
      expect(e.err).toMatch(/shard 3 did not register within 2 s/);
      expect(e.err).toContain('ERR_LOADTEST_SHARD');
      expect(e.out).toBe('');
    }
  });
});
