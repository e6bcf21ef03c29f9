// The embedded default backends: everything in this process.
import type { Backends } from './backends.ts';
import { MemoryEventEngine } from './memory-engine.ts';
import { MemoryStore } from './memory-store.ts';
import { SlidingWindowRateLimiter } from './rate-limiter.ts';

export interface MemoryBackendsOptions {
  /** @default 10000 */
  history?: number;
  /** @default { max: 10, windowMs: 1000 } */
  rateLimit?: { max: number; windowMs: number };
  /** @default Date.now */
  clock?: () => number;
}

export function createMemoryBackends(options: MemoryBackendsOptions = {}): Backends {
  const rl = options.rateLimit ?? { max: 10, windowMs: 1000 };
  return {
    engine: new MemoryEventEngine({ history: options.history ?? 10_000 }),
    store: new MemoryStore(options.clock),
    rateLimiter: new SlidingWindowRateLimiter(rl.max, rl.windowMs),
    kind: 'memory',
  };
}
