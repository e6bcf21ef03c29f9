// Prometheus metrics of the Redis backends, registered in the server's registry when it passes one.
import { Counter, Gauge, Registry } from 'prom-client';

/** `gap`: this instance's reader found undelivered events already trimmed (it fell `history` behind). */
export type RedisOp = 'publish' | 'unknown_outcome' | 'read' | 'gap' | 'resume' | 'store' | 'rate_limit' | 'connection';
export type ResumeOutcome = 'replayed' | 'window_exceeded';

export interface RedisMetrics {
  /** Milliseconds from XADD to this instance's reader delivering the entry (newest batch). */
  streamLagMs: Gauge;
  /** Resumes answered by the engine, by outcome. */
  resumes: Counter<'outcome'>;
  /** Failed Redis commands and connection errors, by operation. */
  errors: Counter<'op'>;
  /** Rate-limit hits decided by the per-instance fallback because Redis could not answer. */
  rateLimitFallbacks: Counter;
}

export function createRedisMetrics(registry: Registry = new Registry()): RedisMetrics {
  const registers = [registry];
  return {
    streamLagMs: new Gauge({
      name: 'bugzapp_redis_stream_lag_ms',
      help: 'Milliseconds between an event entering the Redis stream and this instance delivering it (last read)',
      registers,
    }),
    resumes: new Counter({
      name: 'bugzapp_redis_resumes_total',
      help: 'Resume requests answered from the Redis stream, by outcome (replayed, window_exceeded)',
      labelNames: ['outcome'],
      registers,
    }),
    errors: new Counter({
      name: 'bugzapp_redis_errors_total',
      help: 'Redis command failures and connection errors, by operation',
      labelNames: ['op'],
      registers,
    }),
    rateLimitFallbacks: new Counter({
      name: 'bugzapp_rate_limit_fallback_total',
      help: 'Rate-limit decisions made by the exact per-instance limiter because Redis could not answer',
      registers,
    }),
  };
}
