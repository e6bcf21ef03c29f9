// Case `load`: `runLoadTest` from src/loadtest against the baseline ws server, which is
// cheap enough that the figure is the load generator's own verified-deliveries rate.
import { runLoadTest, type LoadTestResult } from '../../src/loadtest/index.ts';
import { startBaseline } from '../server-process.ts';
import { machineBusyCores, sampleMachine, sampleProcess } from '../proc-stats.ts';
import type { CommonOptions } from '../measure.ts';

export interface LoadCaseOptions extends CommonOptions {
  connections: number;
  rate: number;
  durationMs: number;
  drainTimeoutMs: number;
}

export interface LoadCaseResult {
  case: 'load';
  scenario: { connections: number; rate: number; durationMs: number };
  result?: {
    connections: number;
    offeredPerSec: number;
    verifiedPerSec: number;
    deliveryText: string;
    p99Ms: number;
    generatorText: string;
    saturated: boolean;
    /** the baseline server's CPU over the whole run (connect to drain), share of one core */
    serverCoreShare: number;
    /** cores that processes other than the baseline and this one (the load tester) took meanwhile */
    otherCores: number;
  };
  /** The target: >= 100,000 verified deliveries/s; judged only when at least that much was offered */
  bar?: { limit: number; value: number; judged: boolean; pass: boolean };
  notes: string[];
  raw?: LoadTestResult;
}

export const LOAD_BAR_PER_SEC = 100_000;

export async function runLoadCase(options: LoadCaseOptions): Promise<LoadCaseResult> {
  const out: LoadCaseResult = {
    case: 'load',
    scenario: { connections: options.connections, rate: options.rate, durationMs: options.durationMs },
    notes: [],
  };
  const server = await startBaseline();
  try {
    options.log(`load: bugzapp load against the baseline, ${options.connections} connections, ${options.rate}/s`);
    const before = sampleProcess(server.pid);
    const machineBefore = sampleMachine();
    const selfBefore = process.cpuUsage();
    const r = await runLoadTest(
      {
        urls: [server.url],
        secret: options.secret,
        users: options.connections,
        connsPerUser: 1,
        connectRate: 2000,
        durationMs: options.durationMs,
        rate: options.rate,
        mix: { bug_report: 100 },
        assignRatio: 0,
        drainTimeoutMs: options.drainTimeoutMs,
        workers: options.workers,
        skipRateLimit: true,
        localAddresses: options.localAddresses,
        startServer: false,
      },
      options.signal ? { signal: options.signal } : {},
    );
    const after = sampleProcess(server.pid);
    const machineAfter = sampleMachine();
    const self = process.cpuUsage(selfBefore);
    const wallMs = Math.max(1, after.at - before.at);
    const serverCoreShare = (after.cpuMs - before.cpuMs) / wallMs;
    const otherCores = Math.max(
      0,
      machineBusyCores(machineBefore, machineAfter) - serverCoreShare - (self.user + self.system) / 1000 / wallMs,
    );
    const d = r.delivery.total;
    const offeredPerSec = r.connections.opened * r.throughput.fireRate;
    out.raw = r;
    out.result = {
      connections: r.connections.opened,
      offeredPerSec,
      verifiedPerSec: r.throughput.deliveriesPerSec,
      deliveryText: `${d.delivered.toLocaleString('en-US')} / ${d.expected.toLocaleString('en-US')} (missing ${d.missing}, duplicated ${d.duplicated}, late ${d.late})`,
      p99Ms: r.latency.broadcast.p99,
      generatorText: `${r.generator.saturated ? 'SATURATED' : 'ok'} (CPU ${Math.round(r.generator.cpuPercent)}%, lag p99 ${r.generator.eventLoopLagMs.p99.toFixed(1)} ms)`,
      saturated: r.generator.saturated,
      serverCoreShare,
      otherCores,
    };
    out.bar = {
      limit: LOAD_BAR_PER_SEC,
      value: r.throughput.deliveriesPerSec,
      judged: offeredPerSec >= LOAD_BAR_PER_SEC,
      pass: r.throughput.deliveriesPerSec >= LOAD_BAR_PER_SEC && d.missing === 0 && d.duplicated === 0,
    };
    if (r.errors.length) out.notes.push(`load tester errors: ${r.errors.slice(0, 3).join('; ')}`);
    if (r.generator.saturated) out.notes.push('the load generator saturated: the figure is a floor for the server, a ceiling for the generator');
  } catch (err) {
    out.notes.push(`failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await server.close();
  }
  return out;
}
