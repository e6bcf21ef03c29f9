// The sliding-window rate limit of protocol.md section 5 across instances: one Lua call per message on
// a sorted set per user (the same window semantics as the in-memory limiter: (now - window, now],
// refused messages do not count). With Redis unreachable it lets messages through (fails open) and
// counts the error: the only client message is ping, and refusing it would only add noise to an outage.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RateLimiter } from '../backends.ts';
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

  constructor(options: RedisRateLimiterOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.max = options.max;
    this.windowMs = options.windowMs;
    this.metrics = options.metrics;
    this.script = defineScript(this.redis, 'bugzappRateLimit', RATE_LIMIT_LUA, 1);
  }

  async hit(userId: string, nowMs: number): Promise<boolean> {
    const member = `${nowMs}:${this.instance}:${++this.counter}`;
    try {
      return (await this.script(`${this.prefix}rate:${userId}`, nowMs, this.windowMs, this.max, member)) === 1;
    } catch {
      this.metrics.errors.inc({ op: 'rate_limit' });
      return true;
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
