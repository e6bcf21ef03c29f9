// Case `redis`: two `bugzapp serve --redis` instances on one redis-server (clients and POSTs
// spread over both) against one in-memory instance, at the same offered load.
import { execFileSync } from 'node:child_process';
import { measureFanout, type CommonOptions, type FanoutResult } from '../measure.ts';
import { startRedis, startReference, type ServerProcess } from '../server-process.ts';

export interface RedisCaseOptions extends CommonOptions {
  connections: number;
  rate: number;
  count: number;
  warmup: number;
  drainTimeoutMs: number;
}

export interface RedisCaseResult {
  case: 'redis';
  scenario: { connections: number; rate: number; broadcasts: number; warmup: number };
  /** targets 'memory' (one instance) and 'redis' (two instances) */
  fanout: FanoutResult[];
  skipped: { target: string; reason: string }[];
  ratios?: { achievedPerSec: number; p50: number; p99: number; cpuPerDelivery: number };
  /** The target: the two-instance setup delivers >= 80% of the in-memory instance */
  bar?: { limit: number; ratio: number; allArrived: boolean; pass: boolean };
  notes: string[];
}

export const REDIS_BAR = 0.8;

function redisAvailable(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'redis-server is not installed';
  }
}

export async function runRedisCase(options: RedisCaseOptions): Promise<RedisCaseResult> {
  const out: RedisCaseResult = {
    case: 'redis',
    scenario: { connections: options.connections, rate: options.rate, broadcasts: options.count, warmup: options.warmup },
    fanout: [],
    skipped: [],
    notes: [],
  };
  const fanOpts = { ...options };
  // one in-memory instance
  try {
    const mem = await startReference({ secret: options.secret, name: 'memory' });
    try {
      out.fanout.push(await measureFanout({ name: 'memory', processes: [mem] }, fanOpts));
    } finally {
      await mem.close();
    }
  } catch (err) {
    out.skipped.push({ target: 'memory', reason: err instanceof Error ? err.message : String(err) });
  }
  // two instances behind one Redis
  const why = redisAvailable();
  if (why) {
    out.skipped.push({ target: 'redis', reason: why });
  } else if (!options.signal?.aborted) {
    const redis = await startRedis();
    const instances: ServerProcess[] = [];
    try {
      for (const name of ['redis-a', 'redis-b']) {
        instances.push(await startReference({ secret: options.secret, redisUrl: redis.redisUrl, name }));
      }
      out.fanout.push(await measureFanout({ name: 'redis', processes: instances, support: [redis] }, fanOpts));
      out.notes.push('server CPU of the Redis setup is both instances together; redis-server is listed apart');
    } catch (err) {
      out.skipped.push({ target: 'redis', reason: err instanceof Error ? err.message : String(err) });
    } finally {
      await Promise.all(instances.map((i) => i.close()));
      await redis.close();
    }
  }
  const mem = out.fanout.find((f) => f.target === 'memory');
  const red = out.fanout.find((f) => f.target === 'redis');
  if (mem && red) {
    const r = (a: number, b: number): number => (b ? a / b : NaN);
    out.ratios = {
      achievedPerSec: r(red.achievedPerSec, mem.achievedPerSec),
      p50: r(red.latency.p50Ms, mem.latency.p50Ms),
      p99: r(red.latency.p99Ms, mem.latency.p99Ms),
      cpuPerDelivery: r(red.server.cpuPerDeliveryUs, mem.server.cpuPerDeliveryUs),
    };
    out.bar = {
      limit: REDIS_BAR,
      ratio: out.ratios.achievedPerSec,
      allArrived: red.allArrived,
      pass: red.allArrived && out.ratios.achievedPerSec >= REDIS_BAR,
    };
  }
  return out;
}
