// Latency histograms of the bench: microseconds in HDR histograms, merged exactly across workers by
// shipping them encoded; summarised in the bench's own report shape.
import { addEncoded, createHistogram, encodeHistogram, type Histogram } from '../src/loadtest/histogram.ts';

// The same histograms as bugzapp load (1 µs resolution, pure JS so worker threads need no WASM).
export { createHistogram, encodeHistogram, type Histogram };

export function recordMicros(h: Histogram, micros: number): void {
  h.recordValue(Math.max(1, Math.round(micros)));
}

export function mergeEncoded(encoded: readonly string[]): Histogram {
  const total = createHistogram();
  for (const e of encoded) addEncoded(total, e);
  return total;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number): number => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, p50Ms: NaN, p90Ms: NaN, p99Ms: NaN, p999Ms: NaN, maxMs: NaN, meanMs: NaN };
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
  };
}
