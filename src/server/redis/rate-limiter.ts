// The sliding-window rate limit of protocol.md section 5 across instances: one Lua call per message on
// a sorted set per user (the same window semantics as the in-memory limiter: (now - window, now],
// refused messages do not count). The window is scored by Redis's own TIME inside the script, so every
// instance reads one clock. With Redis unreachable the limit is never lifted: each hit falls back to an
// exact per-instance limiter (the same window, on this instance's monotonic clock), counted.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RateLimiter } from '../backends.ts';
import { SlidingWindowRateLimiter } from '../rate-limiter.ts';
import { defineScript, type ScriptFn } from './connection.ts';
import type { RedisMetrics } from './metrics.ts';
import { RATE_LIMIT_LUA } from './scripts.ts';

export interface RedisRateLimiterOptions {
  redis: Redis;
  prefix: string;
  max: number;
  windowMs: number;
  metrics: RedisMetrics;
}

export class RedisRateLimiter implements RateLimiter {
  readonly max: number;
  readonly windowMs: number;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly metrics: RedisMetrics;
  private readonly script: ScriptFn;
  /** Members must be unique across instances: two hits in the same millisecond are two messages. */
  private readonly instance = randomBytes(6).toString('hex');
  private counter = 0;
  /** Used while Redis cannot answer: per instance, but never no limit. */
  private readonly fallback: SlidingWindowRateLimiter;

  constructor(options: RedisRateLimiterOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.max = options.max;
    this.windowMs = options.windowMs;
    this.metrics = options.metrics;
    this.fallback = new SlidingWindowRateLimiter(this.max, this.windowMs);
    this.script = defineScript(this.redis, 'bugzappRateLimit', RATE_LIMIT_LUA, 1);
  }

  /** `nowMs` (monotonic) is read only by the fallback; Redis scores with its own TIME. */
  async hit(userId: string, nowMs: number): Promise<boolean> {
    const member = `${this.instance}:${++this.counter}`;
    try {
      return (await this.script(`${this.prefix}rate:${userId}`, this.windowMs, this.max, member)) === 1;
    } catch {
      this.metrics.errors.inc({ op: 'rate_limit' });
      this.metrics.rateLimitFallbacks.inc();
      return this.fallback.hit(userId, nowMs);
    }
  }

  close(): Promise<void> {
    return this.fallback.close();
  }
}
