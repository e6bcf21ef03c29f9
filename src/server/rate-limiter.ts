// The exact sliding-window rate limit of protocol.md section 5: per user, across all that user's
// connections. A message passes when fewer than `max` messages of that user passed in the last
// `windowMs` (the window is (now - windowMs, now]); refused messages do not count, so a client that
// keeps sending over the limit is not locked out for longer than the window.
import type { RateLimiter } from './backends.ts';

interface UserWindow {
  /** Times of the last `max` passed messages, a ring; `head` is the oldest once full. */
  times: number[];
  head: number;
  newest: number;
}

export class SlidingWindowRateLimiter implements RateLimiter {
  private readonly users = new Map<string, UserWindow>();
  private hitsSincePrune = 0;

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  hit(userId: string, nowMs: number): boolean {
    if (++this.hitsSincePrune >= 10_000) this.prune(nowMs);
    let w = this.users.get(userId);
    if (!w) {
      w = { times: [], head: 0, newest: nowMs };
      this.users.set(userId, w);
    }
    if (w.times.length < this.max) {
      w.times.push(nowMs);
      w.newest = nowMs;
      return true;
    }
    // full: the oldest of the last `max` passes must have left the window
    if (nowMs - w.times[w.head]! < this.windowMs) return false;
    w.times[w.head] = nowMs;
    w.head = (w.head + 1) % this.max;
    w.newest = nowMs;
    return true;
  }

  /** Forget users whose every pass has left the window: memory stays bounded by active users. */
  prune(nowMs: number): void {
    this.hitsSincePrune = 0;
    for (const [user, w] of this.users) if (nowMs - w.newest >= this.windowMs) this.users.delete(user);
  }

  close(): Promise<void> {
    this.users.clear();
    return Promise.resolve();
  }
}
