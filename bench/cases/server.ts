// Case `server`: our `bugzapp serve` beside the hand-written baseline (and, when its Python
// stack is installed, the guide's FastAPI server), each in its own process, at the same offered load.
import { fastApiUnavailableReason, startFastApiGuideServer } from '../../fixtures/servers/fastapi-guide.ts';
import { measureFanout, measureIdleRss, type CommonOptions, type FanoutResult, type IdleResult } from '../measure.ts';
import { startBaseline, startReference, type ServerProcess } from '../server-process.ts';

export type TargetName = 'baseline' | 'ours' | 'fastapi';

export interface ServerCaseOptions extends CommonOptions {
  targets: TargetName[];
  connections: number;
  rate: number;
  count: number;
  warmup: number;
  drainTimeoutMs: number;
  /** Fan-out rounds per compared target, in alternating order; the table shows each one's median-p99 round. */
  rounds: number;
  idleConnections: number;
  idleSettleMs: number;
}

export interface Ratios {
  /** ours / baseline; below 1 means ours is better for latency, CPU and memory, worse for throughput */
  p50: number;
  p99: number;
  cpuPerDelivery: number;
  bytesPerIdleConnection: number;
  achievedPerSec: number;
}

export interface ServerCaseResult {
  case: 'server';
  scenario: { connections: number; rate: number; broadcasts: number; warmup: number; idleConnections: number; rounds: number };
  /** per target, the median-p99 round */
  fanout: FanoutResult[];
  /** every round, per target */
  rounds: Partial<Record<TargetName, FanoutResult[]>>;
  idle: IdleResult[];
  skipped: { target: TargetName; phase: 'fanout' | 'idle'; reason: string }[];
  ratios?: Ratios;
  /** ours / the guide's FastAPI server, when both ran */
  versusFastApi?: { p99: number; achievedPerSec: number };
  /** The target: every event arrives and our p99 is within 1.5x of the baseline's (a bare ws server) */
  bar?: {
    p99RatioLimit: number;
    p99Ratio: number;
    allArrived: boolean;
    clientValid: boolean;
    pass: boolean;
    /** false when the scenario is smaller than the target's (4,000 connections, 20 broadcasts/s) */
    fullScenario: boolean;
  };
}

export const P99_RATIO_LIMIT = 1.5;

function starter(name: TargetName, secret: string): () => Promise<ServerProcess> {
  switch (name) {
    case 'baseline':
      return startBaseline;
    case 'ours':
      return () => startReference({ secret });
    case 'fastapi':
      return async () => {
        const why = fastApiUnavailableReason();
        if (why) throw new Error(why);
        const s = await startFastApiGuideServer({ secret });
        return {
          name: 'fastapi',
          url: s.url,
          pid: s.pid,
          stderrTail: () => '',
          alive: () => true,
          close: () => s.close(),
        };
      };
  }
}

async function withServer<T>(start: () => Promise<ServerProcess>, body: (p: ServerProcess) => Promise<T>): Promise<T> {
  const proc = await start();
  try {
    return await body(proc);
  } finally {
    await proc.close();
  }
}

/** The round whose p99 is the median (the lower middle one for an even count). */
function medianByP99(rounds: FanoutResult[]): FanoutResult {
  const sorted = [...rounds].sort((a, b) => (a.latency.p99Ms || Infinity) - (b.latency.p99Ms || Infinity));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function ratio(a: number, b: number): number {
  return b === 0 || !Number.isFinite(a) || !Number.isFinite(b) ? NaN : a / b;
}

export async function runServerCase(options: ServerCaseOptions): Promise<ServerCaseResult> {
  const result: ServerCaseResult = {
    case: 'server',
    scenario: {
      connections: options.connections,
      rate: options.rate,
      broadcasts: options.count,
      warmup: options.warmup,
      idleConnections: options.idleConnections,
      rounds: options.rounds,
    },
    fanout: [],
    rounds: {},
    idle: [],
    skipped: [],
  };
  const failed = new Set<TargetName>();
  const fanOnce = async (name: TargetName, round: number): Promise<void> => {
    try {
      const fan = await withServer(starter(name, options.secret), (p) => measureFanout({ name, processes: [p] }, { ...options }));
      (result.rounds[name] ??= []).push(fan);
      options.log(
        `${name} (round ${round + 1}): ${fan.received}/${fan.expected} deliveries, ${Math.round(fan.achievedPerSec)}/s, p99 ${fan.latency.p99Ms} ms`,
      );
    } catch (err) {
      failed.add(name);
      result.skipped.push({ target: name, phase: 'fanout', reason: err instanceof Error ? err.message : String(err) });
      options.log(`${name}: fan-out skipped: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  };
  // rounds alternate the order (A B, B A, ...) so a neighbour's load on the shared CPU does not always
  // land on the same server; the guide's FastAPI server, outside the bar, is measured once
  const compared = options.targets.filter((t) => t !== 'fastapi');
  for (let round = 0; round < options.rounds && !options.signal?.aborted; round++) {
    const order = round % 2 === 0 ? compared : [...compared].reverse();
    for (const name of order) {
      if (options.signal?.aborted || failed.has(name)) continue;
      await fanOnce(name, round);
    }
  }
  if (options.targets.includes('fastapi') && !options.signal?.aborted) await fanOnce('fastapi', 0);
  for (const name of options.targets) {
    const rounds = result.rounds[name];
    if (rounds?.length) result.fanout.push(medianByP99(rounds));
  }
  for (const name of options.targets) {
    if (options.idleConnections <= 0 || options.signal?.aborted || failed.has(name)) continue;
    try {
      const idle = await withServer(starter(name, options.secret), (p) =>
        measureIdleRss(
          { name, processes: [p] },
          { ...options, connections: options.idleConnections, settleMs: options.idleSettleMs },
        ),
      );
      result.idle.push(idle);
      options.log(`${name}: ${Math.round(idle.bytesPerConnection)} bytes RSS per idle connection (${idle.connections})`);
    } catch (err) {
      result.skipped.push({ target: name, phase: 'idle', reason: err instanceof Error ? err.message : String(err) });
    }
  }
  const ours = result.fanout.find((f) => f.target === 'ours');
  const base = result.fanout.find((f) => f.target === 'baseline');
  if (ours && base) {
    const oursIdle = result.idle.find((i) => i.target === 'ours');
    const baseIdle = result.idle.find((i) => i.target === 'baseline');
    result.ratios = {
      p50: ratio(ours.latency.p50Ms, base.latency.p50Ms),
      p99: ratio(ours.latency.p99Ms, base.latency.p99Ms),
      cpuPerDelivery: ratio(ours.server.cpuPerDeliveryUs, base.server.cpuPerDeliveryUs),
      bytesPerIdleConnection: ratio(oursIdle?.bytesPerConnection ?? NaN, baseIdle?.bytesPerConnection ?? NaN),
      achievedPerSec: ratio(ours.achievedPerSec, base.achievedPerSec),
    };
    const clientValid = ours.client.valid && base.client.valid;
    result.bar = {
      p99RatioLimit: P99_RATIO_LIMIT,
      p99Ratio: result.ratios.p99,
      allArrived: ours.allArrived,
      clientValid,
      pass: ours.allArrived && clientValid && result.ratios.p99 <= P99_RATIO_LIMIT,
      fullScenario: options.connections >= 4000 && options.rate >= 20,
    };
  }
  const fastapi = result.fanout.find((f) => f.target === 'fastapi');
  if (ours && fastapi) {
    result.versusFastApi = {
      p99: ratio(ours.latency.p99Ms, fastapi.latency.p99Ms),
      achievedPerSec: ratio(ours.achievedPerSec, fastapi.achievedPerSec),
    };
  }
  return result;
}
