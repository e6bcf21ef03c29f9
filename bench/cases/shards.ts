// Case `shards`: the same total work (users, operations, rate) as one `bugzapp load` process and as N
// local shards of one run coordinated through Redis, against one reference server. Both print the
// merged report; the table sets their verdicts, deliveries, latency, generator lag and wall time side
// by side. On one machine the shards share its cores with each other and the server: this measures
// what sharding costs, not what N machines gain.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LoadReport } from '../../src/loadtest/report-json.ts';
import { REPO_ROOT, startRedis, startReference } from '../server-process.ts';

export interface ShardsCaseOptions {
  secret: string;
  users: number;
  events: number;
  rate: number;
  shards: number;
  log: (line: string) => void;
}

export interface ShardsRun {
  label: string;
  verdict: string;
  exitCodes: (number | null)[];
  wallMs: number;
  delivered: number;
  expected: number;
  deliveriesPerSec: number;
  broadcastP99Ms: number;
  generatorLagP99Ms: number;
}

export interface ShardsCaseResult {
  case: 'shards';
  scenario: { users: number; events: number; rate: number; shards: number };
  runs: ShardsRun[];
  notes: string[];
}

function runCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'bugzapp.js'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

function figures(label: string, exits: { code: number | null; out: string }[], wallMs: number): ShardsRun {
  const r = JSON.parse(exits[0]!.out) as LoadReport;
  return {
    label,
    verdict: r.verdict,
    exitCodes: exits.map((e) => e.code),
    wallMs: Math.round(wallMs),
    delivered: r.delivery.total.delivered,
    expected: r.delivery.total.expected,
    deliveriesPerSec: r.throughput.deliveriesPerSec,
    broadcastP99Ms: r.latency.broadcast.p99,
    generatorLagP99Ms: r.generator.eventLoopLagMs.p99,
  };
}

export async function runShardsCase(o: ShardsCaseOptions): Promise<ShardsCaseResult> {
  const out: ShardsCaseResult = { case: 'shards', scenario: { users: o.users, events: o.events, rate: o.rate, shards: o.shards }, runs: [], notes: [] };
  const redis = await startRedis();
  const server = await startReference({ secret: o.secret });
  try {
    const base = ['load', '--url', server.url, '--secret', o.secret, '--users', String(o.users), '--events', String(o.events), '--rate', String(o.rate), '--skip-rate-limit', '--json'];
    out.notes.push(`load average (1 min) at the start: ${loadavg()[0]!.toFixed(2)}`);
    o.log(`shards: one process, ${o.users} users, ${o.events} operations at ${o.rate}/s`);
    let t0 = performance.now();
    const one = await runCli(base);
    out.runs.push(figures('one process', [one], performance.now() - t0));
    o.log(`shards: ${o.shards} shards of the same run`);
    t0 = performance.now();
    const runId = `bench-${process.pid}-${Date.now()}`;
    const exits = await Promise.all(
      Array.from({ length: o.shards }, (_, i) => runCli([...base, '--coordinator', redis.redisUrl, '--run-id', runId, '--shard', `${i + 1}/${o.shards}`])),
    );
    out.runs.push(figures(`${o.shards} shards`, exits, performance.now() - t0));
    const same = exits.every((e) => JSON.stringify((JSON.parse(e.out) as LoadReport).delivery) === JSON.stringify((JSON.parse(exits[0]!.out) as LoadReport).delivery));
    out.notes.push(`every shard printed the same merged delivery figures: ${same ? 'yes' : 'NO'}`);
    const merged = JSON.parse(exits[0]!.out) as LoadReport;
    if (merged.distribution) out.notes.push(`the shards judged what each connection owed by ${merged.distribution.eligibility}`);
    // an invalid verdict is the generator's, not the server's: say why
    for (const [label, r] of [['one process', JSON.parse(one.out) as LoadReport], [`${o.shards} shards`, merged]] as const) {
      if (r.verdict === 'invalid') out.notes.push(`${label}: invalid, ${r.reasons.join('; ')}`);
    }
  } catch (err) {
    out.notes.push(`failed: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    await server.close();
    await redis.close();
  }
  return out;
}
