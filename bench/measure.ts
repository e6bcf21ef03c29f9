// The two measurements every server case is made of: broadcast fan-out under a fixed offered load, and
// the resident memory that idle connections cost.
import { availableParallelism } from 'node:os';
import { mintTokenSync } from '../src/protocol/index.ts';
import { ClientPool, type ClientKind, type PoolReport } from './client-pool.ts';
import { fireReports, type FireResult } from './fire.ts';
import { machineBusyCores, sampleMachine, sampleProcess, type ProcSample } from './proc-stats.ts';
import type { LatencySummary } from './histogram.ts';
import type { ServerProcess } from './server-process.ts';

export interface Target {
  name: string;
  /** The server processes (one per instance) whose CPU counts as "server CPU". */
  processes: ServerProcess[];
  /** Extra processes whose CPU is reported beside (redis-server). */
  support?: ServerProcess[];
}

export interface CommonOptions {
  secret: string;
  workers: number;
  localAddresses: string[];
  /** Which receiving client the workers run. @default 'raw' */
  client?: ClientKind;
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface FanoutOptions extends CommonOptions {
  connections: number;
  /** broadcasts per second */
  rate: number;
  /** measured broadcasts */
  count: number;
  warmup: number;
  drainTimeoutMs: number;
}

export interface ClientHealth {
  valid: boolean;
  reasons: string[];
  workers: PoolReport['workers'];
  senderScheduleLagMaxMs: number;
  senderLagP99Ms: number;
  /** CPU of the whole client process (workers and sender), in cores */
  processCores: number;
  /** cores busy on the whole machine, and what processes other than the server(s) and client took */
  machineBusyCores: number;
  otherCores: number;
}

export interface FanoutResult {
  target: string;
  connections: number;
  connectFailed: number;
  connectError?: string;
  rate: number;
  posts: { sent: number; created: number; failed: number; firstError?: string };
  expected: number;
  received: number;
  missing: number;
  duplicates: number;
  /** receipts whose id was too large for the duplicate bitmap */
  uncheckedForDuplicates: number;
  outOfOrder: number;
  unexpectedCloses: number;
  allArrived: boolean;
  offeredPerSec: number;
  achievedPerSec: number;
  latency: LatencySummary;
  server: { cpuMs: number; coreShare: number; cpuPerDeliveryUs: number; rssAfterMiB: number };
  support?: { cpuMs: number; coreShare: number };
  client: ClientHealth;
  wallMs: number;
}

/** Client-side bounds past which the numbers measure the client, not the server. */
export const CLIENT_LIMITS = {
  eventLoopUtilization: 0.9,
  threadCpuShare: 0.85,
  lagP99Ms: 100,
  senderScheduleLagMs: 250,
  /** share of all cores busy (server, client and everything else) past which nothing measured is the server's alone */
  machineBusyShare: 0.95,
  /** ...when processes other than the server and client took more than this many cores of it */
  otherCores: 0.25,
} as const;

function cpuOf(samplesA: ProcSample[], samplesB: ProcSample[]): { cpuMs: number; coreShare: number } {
  let cpuMs = 0;
  let wall = 0;
  samplesA.forEach((a, i) => {
    const b = samplesB[i]!;
    cpuMs += b.cpuMs - a.cpuMs;
    wall = Math.max(wall, b.at - a.at);
  });
  return { cpuMs, coreShare: wall > 0 ? cpuMs / wall : 0 };
}

interface CpuContext {
  processCores: number;
  machineBusyCores: number;
  otherCores: number;
}

function judgeClient(report: PoolReport, fire: FireResult, cpu: CpuContext): ClientHealth {
  const reasons: string[] = [];
  report.workers.forEach((w, i) => {
    if (w.cpuShare > CLIENT_LIMITS.threadCpuShare) reasons.push(`client worker ${i} used ${(w.cpuShare * 100).toFixed(0)}% of a core`);
    if (w.eventLoopUtilization > CLIENT_LIMITS.eventLoopUtilization) {
      reasons.push(`client worker ${i} event loop ${(w.eventLoopUtilization * 100).toFixed(0)}% busy`);
    }
    if (w.lagP99Ms > CLIENT_LIMITS.lagP99Ms) {
      reasons.push(`client worker ${i} event-loop lag p99 ${w.lagP99Ms.toFixed(0)} ms (its thread used ${(w.cpuShare * 100).toFixed(0)}% of a core)`);
    }
  });
  const cores = availableParallelism();
  if (cpu.machineBusyCores > CLIENT_LIMITS.machineBusyShare * cores && cpu.otherCores > CLIENT_LIMITS.otherCores) {
    reasons.push(
      `the machine's CPU was saturated (${cpu.machineBusyCores.toFixed(2)} of ${cores} cores busy, ${cpu.otherCores.toFixed(2)} by other processes)`,
    );
  }
  if (fire.scheduleLagMaxMs > CLIENT_LIMITS.senderScheduleLagMs) {
    reasons.push(`sender fell ${fire.scheduleLagMaxMs.toFixed(0)} ms behind its schedule`);
  }
  return {
    valid: reasons.length === 0,
    reasons,
    workers: report.workers,
    senderScheduleLagMaxMs: fire.scheduleLagMaxMs,
    senderLagP99Ms: fire.senderLagP99Ms,
    ...cpu,
  };
}

async function waitForDeliveries(pool: ClientPool, expected: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  // a server that makes no progress for this long is not waited on further
  const stallMs = Math.min(3000, timeoutMs);
  let last = -1;
  let progressAt = performance.now();
  while (performance.now() < deadline && !signal?.aborted) {
    const got = await pool.received();
    if (got >= expected) return;
    if (got !== last) {
      last = got;
      progressAt = performance.now();
    } else if (performance.now() - progressAt > stallMs) {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function measureFanout(target: Target, options: FanoutOptions): Promise<FanoutResult> {
  const wsUrls = target.processes.map((p) => p.url.replace(/^http/, 'ws'));
  const started = performance.now();
  options.log(`${target.name}: opening ${options.connections} connections over ${options.workers} workers`);
  const { pool, connect } = await ClientPool.open({
    wsUrls,
    connections: options.connections,
    workers: options.workers,
    secret: options.secret,
    localAddresses: options.localAddresses,
    ...(options.client ? { client: options.client } : {}),
    idCapacity: 2 * (options.warmup + options.count) + 64,
  });
  try {
    options.log(`${target.name}: ${connect.connected} connected, ${connect.failed} failed; firing ${options.warmup}+${options.count} at ${options.rate}/s`);
    await pool.start();
    const before = target.processes.map((p) => sampleProcess(p.pid));
    const supportBefore = (target.support ?? []).map((p) => sampleProcess(p.pid));
    const machineBefore = sampleMachine();
    const clientBefore = process.cpuUsage();
    const clientWallStart = performance.now();
    const fire = await fireReports({
      postUrls: target.processes.map((p) => p.url),
      token: mintTokenSync({ userId: 'bench-sender', secret: options.secret }),
      rate: options.rate,
      count: options.count,
      warmup: options.warmup,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const expected = fire.created * connect.connected;
    await waitForDeliveries(pool, expected, options.drainTimeoutMs, options.signal);
    const after = target.processes.map((p) => sampleProcess(p.pid));
    const supportAfter = (target.support ?? []).map((p) => sampleProcess(p.pid));
    const machineAfter = sampleMachine();
    const clientCpu = process.cpuUsage(clientBefore);
    const clientCores = (clientCpu.user + clientCpu.system) / 1000 / Math.max(1, performance.now() - clientWallStart);
    const report = await pool.stop();
    const cpu = cpuOf(before, after);
    const support = target.support?.length ? cpuOf(supportBefore, supportAfter) : undefined;
    const busy = machineBusyCores(machineBefore, machineAfter);
    const cpuContext: CpuContext = {
      processCores: clientCores,
      machineBusyCores: busy,
      otherCores: Math.max(0, busy - clientCores - cpu.coreShare - (support?.coreShare ?? 0)),
    };
    const spanS = Math.max(1e-3, (report.lastReceiptAt - fire.firstSentAt) / 1000);
    const fireS = Math.max(1e-3, (options.warmup + options.count) / options.rate);
    const result: FanoutResult = {
      target: target.name,
      connections: connect.connected,
      connectFailed: connect.failed,
      ...(connect.firstError ? { connectError: connect.firstError } : {}),
      rate: options.rate,
      posts: {
        sent: fire.sent,
        created: fire.created,
        failed: fire.failed,
        ...(fire.firstError ? { firstError: fire.firstError } : {}),
      },
      expected,
      received: report.received,
      missing: Math.max(0, expected - (report.received - report.duplicates)),
      duplicates: report.duplicates,
      uncheckedForDuplicates: report.unchecked,
      outOfOrder: report.outOfOrder,
      unexpectedCloses: report.unexpectedCloses,
      allArrived:
        expected > 0 &&
        connect.failed === 0 &&
        report.received === expected &&
        report.duplicates === 0 &&
        report.outOfOrder === 0 &&
        fire.failed === 0,
      offeredPerSec: (fire.sent * connect.connected) / fireS,
      // over the fire window, or longer when the last deliveries came later
      achievedPerSec: report.received / Math.max(spanS, fireS),
      latency: report.latency,
      server: {
        cpuMs: cpu.cpuMs,
        coreShare: cpu.coreShare,
        cpuPerDeliveryUs: report.received ? (cpu.cpuMs * 1000) / report.received : NaN,
        rssAfterMiB: after.reduce((a, s) => a + s.rssBytes, 0) / 2 ** 20,
      },
      ...(support ? { support } : {}),
      client: judgeClient(report, fire, cpuContext),
      wallMs: performance.now() - started,
    };
    return result;
  } finally {
    await pool.close();
  }
}

export interface IdleOptions extends CommonOptions {
  connections: number;
  /** How long to let RSS settle after the last handshake before reading it. */
  settleMs: number;
}

export interface IdleResult {
  target: string;
  connections: number;
  connectFailed: number;
  connectError?: string;
  rssIdleMiB: number;
  rssLoadedMiB: number;
  bytesPerConnection: number;
}

/** RSS with `connections` idle sockets minus RSS with none, per connection. Use a fresh server. */
export async function measureIdleRss(target: Target, options: IdleOptions): Promise<IdleResult> {
  const pids = target.processes.map((p) => p.pid);
  const rss = (): number => pids.reduce((a, pid) => a + sampleProcess(pid).rssBytes, 0);
  const rss0 = rss();
  options.log(`${target.name}: opening ${options.connections} idle connections`);
  const { pool, connect } = await ClientPool.open({
    wsUrls: target.processes.map((p) => p.url.replace(/^http/, 'ws')),
    connections: options.connections,
    workers: options.workers,
    secret: options.secret,
    localAddresses: options.localAddresses,
    ...(options.client ? { client: options.client } : {}),
    concurrency: 200,
  });
  try {
    // the bench may wait on the clock: it measures a process that is settling, it asserts nothing
    await new Promise((r) => setTimeout(r, options.settleMs));
    const rssN = rss();
    return {
      target: target.name,
      connections: connect.connected,
      connectFailed: connect.failed,
      ...(connect.firstError ? { connectError: connect.firstError } : {}),
      rssIdleMiB: rss0 / 2 ** 20,
      rssLoadedMiB: rssN / 2 ** 20,
      bytesPerConnection: connect.connected ? (rssN - rss0) / connect.connected : NaN,
    };
  } finally {
    await pool.close();
  }
}
