// The cut schedule of a resilience run, pure: when connections are cut (`--churn P%/INTERVAL` every
// interval from the start of the fire phase, `--storm P%@T` once at T) and which ones (a seeded choice,
// so the same seed and the same connections cut the same ones). The shard runs it with one timer.
// `--slow P%[:DURATION]` is parsed here too: P% of the connections stop reading from the start of the fire
// phase, chosen the same seeded way.
import { parseDuration } from '../units.ts';

export interface ChurnSpec {
  /** Percent of the open connections cut each interval, (0, 100]. */
  percent: number;
  intervalMs: number;
}

export interface StormSpec {
  /** Percent of the open connections cut at once, (0, 100]. */
  percent: number;
  /** Time after the fire phase started. */
  atMs: number;
}

export interface SlowSpec {
  /** Percent of the open connections that stop reading their socket, (0, 100]. */
  percent: number;
  /** How long they stay paused from the start of the fire phase; absent: until the server acts (see shard.ts). */
  durationMs?: number;
}

export interface CutPlan {
  churn?: ChurnSpec;
  storms: readonly StormSpec[];
}

export interface CutStep {
  /** Time after the fire phase started. */
  atMs: number;
  percent: number;
  kind: 'churn' | 'storm';
  /** Index into plan.storms for a storm. */
  storm: number;
}

/** Steps due in (fromMs, toMs], in time order (a storm before a churn step at the same time). */
export function stepsBetween(plan: CutPlan, fromMs: number, toMs: number): CutStep[] {
  const out: CutStep[] = [];
  plan.storms.forEach((s, i) => {
    if (s.atMs > fromMs && s.atMs <= toMs) out.push({ atMs: s.atMs, percent: s.percent, kind: 'storm', storm: i });
  });
  const c = plan.churn;
  if (c) {
    for (let k = Math.floor(fromMs / c.intervalMs) + 1; k * c.intervalMs <= toMs; k++) {
      out.push({ atMs: k * c.intervalMs, percent: c.percent, kind: 'churn', storm: -1 });
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs || (a.kind === b.kind ? a.storm - b.storm : a.kind === 'storm' ? -1 : 1));
}

/** The time of the first step after `afterMs`, or undefined when none is left. */
export function nextStepAt(plan: CutPlan, afterMs: number): number | undefined {
  let next: number | undefined;
  for (const s of plan.storms) if (s.atMs > afterMs && (next === undefined || s.atMs < next)) next = s.atMs;
  const c = plan.churn;
  if (c) {
    const t = (Math.floor(afterMs / c.intervalMs) + 1) * c.intervalMs;
    if (next === undefined || t < next) next = t;
  }
  return next;
}

/** How many of `open` connections a cut of `percent` takes: rounded, at least one when any is open. */
export function cutCount(open: number, percent: number): number {
  if (open === 0) return 0;
  return Math.min(open, Math.max(1, Math.round((open * percent) / 100)));
}

/**
 * Picks cutCount(candidates.length, percent) of `candidates`, uniformly, with `random` ([0, 1)); the
 * candidates are left as they were. A partial Fisher-Yates shuffle: O(count) draws.
 */
export function pickCuts(candidates: readonly number[], percent: number, random: () => number): number[] {
  const pool = [...candidates];
  const k = cutCount(pool.length, percent);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, k);
}

/** The seed of one shard's generator: the run's seed mixed with the shard id. */
export function shardSeed(seed: number, shardId: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(shardId + 1, 0xc2b2ae35)) >>> 0;
}

function percentOf(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (!m) return undefined;
  const p = Number(m[1]);
  return p > 0 && p <= 100 ? p : undefined;
}

/** `5%/2s`. */
export function parseChurn(text: string): ChurnSpec | { error: string } {
  const [p, d, extra] = text.split('/');
  const percent = p === undefined ? undefined : percentOf(p);
  const intervalMs = d === undefined ? undefined : parseDuration(d.trim());
  if (extra !== undefined || percent === undefined || intervalMs === undefined || intervalMs <= 0) {
    return { error: `expected P%/INTERVAL with 0 < P <= 100, e.g. 5%/2s, got '${text}'` };
  }
  return { percent, intervalMs };
}

/** `50%@10s`. */
export function parseStorm(text: string): StormSpec | { error: string } {
  const [p, t, extra] = text.split('@');
  const percent = p === undefined ? undefined : percentOf(p);
  const atMs = t === undefined ? undefined : parseDuration(t.trim());
  if (extra !== undefined || percent === undefined || atMs === undefined || atMs < 0) {
    return { error: `expected P%@T with 0 < P <= 100, e.g. 50%@10s, got '${text}'` };
  }
  return { percent, atMs };
}

/** `2%` or `2%:5s`. */
export function parseSlow(text: string): SlowSpec | { error: string } {
  const [p, d, extra] = text.split(':');
  const percent = p === undefined ? undefined : percentOf(p);
  const durationMs = d === undefined ? undefined : parseDuration(d.trim());
  if (extra !== undefined || percent === undefined || (d !== undefined && (durationMs === undefined || durationMs <= 0))) {
    return { error: `expected P%[:DURATION] with 0 < P <= 100, e.g. 2% or 2%:5s, got '${text}'` };
  }
  return durationMs === undefined ? { percent } : { percent, durationMs };
}

/** The seed of one shard's choice of slow connections: apart from its cuts' (the same seed, another draw). */
export function slowSeed(seed: number, shardId: number): number {
  return shardSeed((seed ^ 0x510e527f) >>> 0, shardId);
}
