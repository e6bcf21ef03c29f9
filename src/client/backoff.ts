// Reconnect delays: exponential backoff with full jitter (the guide's Dart client waits 2^n s; the
// jitter keeps thousands of clients dropped together from reconnecting in lockstep).

export interface BackoffOptions {
  /** Delay ceiling of the first retry, in ms; it doubles with each retry. @default 1000 */
  baseMs?: number;
  /** Largest delay ceiling, in ms. @default 30000 */
  capMs?: number;
}

export const BACKOFF_DEFAULTS = { baseMs: 1000, capMs: 30_000 } as const;

/** The ceiling of retry `attempt` (1-based): min(cap, base * 2^(attempt-1)). */
export function backoffCeiling(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const cap = options.capMs ?? BACKOFF_DEFAULTS.capMs;
  const exp = Math.min(Math.max(attempt - 1, 0), 52);
  return Math.min(cap, base * 2 ** exp);
}

/**
 * Full jitter: a uniformly random delay in [0, ceiling). `random` returns [0, 1) like Math.random,
 * injected so tests can pin it.
 */
export function computeBackoff(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, options));
}
