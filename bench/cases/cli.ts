// Case `cli`: what a user gets from `bugzapp load` itself (the compiled CLI in its own process, default
// --workers auto) against the baseline ws server, side by side with the bench's bare receiver
// (src/client/lean-transport.ts, which also checks every delivery) on the same server, same connections and rate.
// Figures: verified deliveries/s, generator CPU µs per verified delivery (the whole generator process,
// sampled from /proc), peak RSS, broadcast p99; then the CLI's RSS per connection at 10,000 connections
// and its base RSS (one connection, no terminal view).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildDist } from '../build.ts';
import { measureFanout, type FanoutResult } from '../measure.ts';
import { sampleProcess } from '../proc-stats.ts';
import { REPO_ROOT, startBaseline, type ServerProcess } from '../server-process.ts';
import type { CommonOptions } from '../measure.ts';

export interface CliCaseOptions extends CommonOptions {
  /** users x 2 connections each (the CLI's --conns-per-user 2). */
  users: number;
  /** broadcasts per second (--rate) */
  rate: number;
  /** broadcasts (--events) */
  events: number;
  /** connections held for the RSS-per-connection figure; 0 skips it */
  rssConnections: number;
}

export interface CliRun {
  args: string[];
  exitCode: number | null;
  verdict?: string;
  connections: number;
  expected: number;
  delivered: number;
  missing: number;
  duplicated: number;
  verifiedPerSec: number;
  broadcastP99Ms: number;
  lagP99Ms: number;
  saturated: boolean;
  workers: number;
  cpuMs: number;
  cpuUsPerDelivery: number;
  peakRssMiB: number;
  error?: string;
}

export interface CliCaseResult {
  case: 'cli';
  scenario: { connections: number; rate: number; events: number };
  cli?: CliRun;
  /** peakRssMiB: the bench process's peak (its receiver workers and sender; the CLI runs as a child) */
  bare?: FanoutResult & { cpuUsPerDelivery: number; peakRssMiB: number };
  memory?: { connections: number; peakRssMiB: number; baseRssMiB: number; perConnectionKiB: number };
  notes: string[];
}

/** The CLI run: this tree's, or another build's bin/bugzapp.js (BUGZAPP_BENCH_CLI) to compare builds under the same conditions. */
const BIN = process.env.BUGZAPP_BENCH_CLI || `${REPO_ROOT}bin/bugzapp.js`;

/**
 * The exact command line of the CLI configuration, for bench/README.md and the report: the issue's
 * command as written (the default assignRatio: the baseline sends the assignee a notification, as the
 * guide's server does, so the drain ends when the last delivery is in).
 */
export function cliArgs(url: string, users: number, events: number, rate: number): string[] {
  return ['load', '--url', url, '--users', String(users), '--conns-per-user', '2', '--events', String(events), '--rate', String(rate), '--mix', 'bug_report:100', '--skip-rate-limit', '--drain-timeout', '15s', '--json'];
}

/** Runs the CLI, sampling its CPU and RSS from /proc every 50 ms (the last sample before exit counts). */
async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; cpuMs: number; peakRss: number }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let cpuMs = 0;
  let peakRss = 0;
  const sample = (): void => {
    try {
      const s = sampleProcess(child.pid!);
      cpuMs = s.cpuMs;
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      peakRss = Math.max(peakRss, hwm, s.rssBytes);
    } catch {
      // exited between samples
    }
  };
  const timer = setInterval(sample, 50);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(timer);
  return { code, stdout, stderr, cpuMs, peakRss };
}

export async function runCliCase(options: CliCaseOptions): Promise<CliCaseResult> {
  const connections = options.users * 2;
  const out: CliCaseResult = { case: 'cli', scenario: { connections, rate: options.rate, events: options.events }, notes: [] };
  const buildError = buildDist(options.log, 'cli');
  if (buildError !== undefined) {
    out.notes.push(`skipped: the build failed: ${buildError}`);
    return out;
  }
  let server: ServerProcess | undefined;
  try {
    server = await startBaseline();
    const args = cliArgs(server.url, options.users, options.events, options.rate);
    options.log(`cli: bugzapp ${args.join(' ')}`);
    const run = await runCli(args);
    const r = parseReport(run.stdout);
    if (!r) {
      out.notes.push(`the CLI gave no JSON report (exit ${run.code}): ${run.stderr.split('\n').slice(-3).join(' | ')}`);
    } else {
      const delivered = r.delivery.total.delivered;
      out.cli = {
        args,
        exitCode: run.code,
        verdict: r.verdict,
        connections: r.connections.opened,
        expected: r.delivery.total.expected,
        delivered,
        missing: r.delivery.total.missing,
        duplicated: r.delivery.total.duplicated,
        verifiedPerSec: r.throughput.deliveriesPerSec,
        broadcastP99Ms: r.latency.broadcast.p99,
        lagP99Ms: r.generator.eventLoopLagMs.p99,
        saturated: r.generator.saturated,
        workers: r.generator.threads.length - 1,
        cpuMs: run.cpuMs,
        cpuUsPerDelivery: delivered > 0 ? (run.cpuMs * 1000) / delivered : 0,
        peakRssMiB: run.peakRss / 2 ** 20,
      };
    }
    await server.close();
    server = undefined;
    // the bare receiver on a fresh baseline: same connections, same broadcasts at the same rate
    server = await startBaseline();
    const cpuBefore = process.cpuUsage();
    const bare = await measureFanout(
      { name: 'baseline', processes: [server] },
      { ...options, connections, rate: options.rate, count: options.events, warmup: 0, drainTimeoutMs: 15_000 },
    );
    const cpu = process.cpuUsage(cpuBefore);
    out.bare = {
      ...bare,
      cpuUsPerDelivery: bare.received > 0 ? (cpu.user + cpu.system) / bare.received : 0,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
    out.notes.push('the bare receiver\'s CPU is this bench process (its worker threads and the sender) over the measurement; the CLI\'s is its whole process');
    await server.close();
    server = undefined;
    if (options.rssConnections > 0) {
      server = await startBaseline();
      const held = Math.ceil(options.rssConnections / 2);
      // connections held while a few broadcasts go out: peak RSS with all of them open
      const big = await runCli(cliArgs(server.url, held, 20, 4));
      const small = await runCli(cliArgs(server.url, 1, 20, 4));
      const perConnection = (big.peakRss - small.peakRss) / Math.max(1, held * 2 - 2);
      out.memory = {
        connections: held * 2,
        peakRssMiB: big.peakRss / 2 ** 20,
        baseRssMiB: small.peakRss / 2 ** 20,
        perConnectionKiB: perConnection / 1024,
      };
      out.notes.push('base RSS: the CLI holding 2 connections (peak), no terminal view; per connection: (peak at N - base) / (N - 2)');
    }
  } catch (err) {
    out.notes.push(`failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await server?.close();
  }
  return out;
}

interface ReportShape {
  verdict: string;
  connections: { opened: number };
  delivery: { total: { expected: number; delivered: number; missing: number; duplicated: number } };
  throughput: { deliveriesPerSec: number };
  latency: { broadcast: { p99: number } };
  generator: { eventLoopLagMs: { p99: number }; saturated: boolean; threads: unknown[] };
}

function parseReport(stdout: string): ReportShape | undefined {
  try {
    return JSON.parse(stdout) as ReportShape;
  } catch {
    return undefined;
  }
}
