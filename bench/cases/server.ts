// Case `server` (issue 2): our `bugzapp serve` beside the hand-written baseline (and, when its Python
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
  scenario: { connections: number; rate: number; broadcasts: number; warmup: number; idleConnections: number };
  fanout: FanoutResult[];
  idle: IdleResult[];
  skipped: { target: TargetName; phase: 'fanout' | 'idle'; reason: string }[];
  ratios?: Ratios;
  /** issue 2's bar: every event arrives and our p99 is within 1.5x of the baseline's */
  bar?: { p99RatioLimit: number; p99Ratio: number; allArrived: boolean; clientValid: boolean; pass: boolean };
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
    },
    fanout: [],
    idle: [],
    skipped: [],
  };
  for (const name of options.targets) {
    if (options.signal?.aborted) break;
    const start = starter(name, options.secret);
    try {
      const fan = await withServer(start, (p) =>
        measureFanout({ name, processes: [p] }, { ...options }),
      );
      result.fanout.push(fan);
      options.log(
        `${name}: ${fan.received}/${fan.expected} deliveries, ${Math.round(fan.achievedPerSec)}/s, p99 ${fan.latency.p99Ms} ms`,
      );
    } catch (err) {
      result.skipped.push({ target: name, phase: 'fanout', reason: err instanceof Error ? err.message : String(err) });
      options.log(`${name}: fan-out skipped: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      continue;
    }
    if (options.idleConnections <= 0 || options.signal?.aborted) continue;
    try {
      const idle = await withServer(start, (p) =>
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
    };
  }
  return result;
}
