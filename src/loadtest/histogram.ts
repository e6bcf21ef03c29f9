// HDR histograms of latencies in microseconds (the pure-JS build, so worker threads need no WASM),
// summarised in milliseconds. Workers ship them encoded; the main thread adds them, which is exact.
import { createRequire } from 'node:module';
import type * as Hdr from 'hdr-histogram-js';
import type { LatencySummary } from './types.ts';

export type Histogram = Hdr.Histogram;

// loaded on first use (CommonJS, so synchronously): it and pako are ~45 modules that `bugzapp --version`,
// `token` or `check` never need, and the CLI imports this module for its flag parsing
let lib: typeof Hdr | undefined;
function hdr(): typeof Hdr {
  return (lib ??= createRequire(import.meta.url)('hdr-histogram-js') as typeof Hdr);
}

export function createHistogram(): Histogram {
  return hdr().build({
    bitBucketSize: 64,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/** Records a duration given in milliseconds (floating point) at microsecond resolution. */
export function recordMs(h: Histogram, ms: number): void {
  // no duration (an event sent on another machine's clock): nothing to record
  if (Number.isNaN(ms)) return;
  const us = Math.round(ms * 1000);
  h.recordValue(us < 1 ? 1 : us > 3_600_000_000 ? 3_600_000_000 : us);
}

export function encodeHistogram(h: Histogram): string {
  return hdr().encodeIntoCompressedBase64(h);
}

export function addEncoded(into: Histogram, encoded: string): void {
  const decoded = hdr().decodeFromCompressedBase64(encoded, 64, false);
  into.add(decoded);
  decoded.destroy();
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function emptySummary(): LatencySummary {
  return { count: 0, mean: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
}

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return emptySummary();
  const ms = (us: number): number => round3(us / 1000);
  return {
    count: h.totalCount,
    mean: ms(h.mean),
    min: ms(h.minNonZeroValue),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    // the bucket value, not the raw maximum, so a merged histogram reports the same as a direct one
    max: ms(h.getValueAtPercentile(100)),
  };
}

/** Cumulative-free buckets on a log scale (1-2-5 per decade) for drawing, in ms. */
export function histogramBuckets(h: Histogram): { le: number; count: number }[] {
  if (h.totalCount === 0) return [];
  const bounds: number[] = [];
  for (let decade = 0.01; decade <= 1_000_000; decade *= 10) {
    for (const m of [1, 2, 5]) bounds.push(round3(decade * m));
  }
  const maxMs = h.maxValue / 1000;
  const out: { le: number; count: number }[] = [];
  let prev = 0;
  for (const le of bounds) {
    const cum = countAtOrBelow(h, le * 1000);
    if (le >= maxMs || out.length > 0 || cum > 0) out.push({ le, count: cum - prev });
    prev = cum;
    if (le >= maxMs) break;
  }
  return out;
}

function countAtOrBelow(h: Histogram, us: number): number {
  // the histogram has no cumulative lookup; invert getValueAtPercentile by bisection (end of run only)
  if (us >= h.maxValue) return h.totalCount;
  if (us < h.minNonZeroValue) return 0;
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 24; i++) {
    const mid = (lo + hi) / 2;
    if (h.getValueAtPercentile(mid) <= us) lo = mid;
    else hi = mid;
  }
  return Math.round((lo / 100) * h.totalCount);
}
