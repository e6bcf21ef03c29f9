// The per-second timeline: recorders per thread, the exact merge, the finished entries; and the live
// per-second window of the dashboard. Property tests check random runs split over random threads
// against a brute-force oracle written here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHistogram, recordMs } from '../../src/loadtest/histogram.ts';
import { buildTimeline, LiveSeconds, secondOf, TimelineRecorder, worstSecondP99 } from '../../src/loadtest/timeline.ts';
import type { TimelineEntry } from '../../src/loadtest/types.ts';

const ORIGIN = 1_000_000;

describe('TimelineRecorder and buildTimeline', () => {
  it('counts each kind in the second it happened, t relative to the origin', () => {
    const r = new TimelineRecorder(2, ORIGIN);
    r.fired(ORIGIN + 10);
    r.fired(ORIGIN + 999);
    r.fired(ORIGIN + 1000);
    r.accepted(ORIGIN + 1500);
    r.error(ORIGIN + 2100);
    r.delivered(ORIGIN + 20, 5);
    r.delivered(ORIGIN + 30, 15);
    const tl = buildTimeline([r.snapshot()], { from: 0, to: 3 });
    expect(tl.map((e) => e.t)).toEqual([0, 1, 2, 3]);
    expect(tl.map((e) => e.fired)).toEqual([2, 1, 0, 0]);
    expect(tl.map((e) => e.accepted)).toEqual([0, 1, 0, 0]);
    expect(tl.map((e) => e.errors)).toEqual([0, 0, 1, 0]);
    expect(tl.map((e) => e.delivered)).toEqual([2, 0, 0, 0]);
    expect(tl[0]!.p50Ms).toBeCloseTo(5, 1);
    expect(tl[0]!.p99Ms).toBeCloseTo(15, 1);
    expect(tl.slice(1).every((e) => e.p50Ms === null && e.p99Ms === null)).toBe(true);
  });

  it('connections open at the end of each second, one count per connection however often it is told', () => {
    const r = new TimelineRecorder(3, ORIGIN);
    r.connectionUp(0, ORIGIN - 1500);
    r.connectionUp(0, ORIGIN - 1400); // the same connection again: no change
    r.connectionUp(1, ORIGIN - 100);
    r.connectionUp(2, ORIGIN + 100);
    r.connectionDown(1, ORIGIN + 1100);
    r.connectionDown(1, ORIGIN + 1200);
    r.connectionDown(2, ORIGIN + 2500);
    r.connectionUp(1, ORIGIN + 2600);
    const tl = buildTimeline([r.snapshot()], { from: 0, to: 2 });
    expect(tl.map((e) => [e.t, e.connections])).toEqual([
      [-2, 1],
      [-1, 2],
      [0, 3],
      [1, 2],
      [2, 2],
    ]);
  });

  it('keeps what happened before the origin was set and places it once it is', () => {
    const r = new TimelineRecorder(1);
    r.connectionUp(0, 5_000);
    r.error(5_200);
    r.setOrigin(7_000);
    r.setOrigin(9_999); // only the first origin counts
    r.fired(7_000);
    const tl = buildTimeline([r.snapshot()], { from: 0, to: 0 });
    expect(tl).toEqual([
      { t: -2, fired: 0, accepted: 0, delivered: 0, p50Ms: null, p99Ms: null, connections: 1, errors: 1 },
      { t: -1, fired: 0, accepted: 0, delivered: 0, p50Ms: null, p99Ms: null, connections: 1, errors: 0 },
      { t: 0, fired: 1, accepted: 0, delivered: 0, p50Ms: null, p99Ms: null, connections: 1, errors: 0 },
    ]);
  });

  it('a late delivery for a second already retired is added to it, not lost', () => {
    const r = new TimelineRecorder(0, ORIGIN);
    r.delivered(ORIGIN + 100, 100);
    for (let s = 1; s <= 5; s++) r.delivered(ORIGIN + s * 1000, 1);
    r.delivered(ORIGIN + 200, 300); // second 0 again, long after it was encoded
    const tl = buildTimeline([r.snapshot()], { from: 0, to: 0 });
    expect(tl[0]!.delivered).toBe(2);
    expect(tl[0]!.p50Ms).toBeCloseTo(100, 0);
    expect(tl[0]!.p99Ms).toBeCloseTo(300, 0);
  });

  it('the range runs to `to` with empty seconds, and nothing at all gives the bare range', () => {
    expect(buildTimeline([], { from: 0, to: 2 }).map((e) => e.t)).toEqual([0, 1, 2]);
    expect(buildTimeline([{ origin: undefined, seconds: [] }], { from: 0, to: -1 })).toEqual([]);
  });

  it('refuses parts counted from different origins', () => {
    const a = new TimelineRecorder(0, ORIGIN);
    const b = new TimelineRecorder(0, ORIGIN + 500);
    a.fired(ORIGIN);
    b.fired(ORIGIN + 600);
    expect(() => buildTimeline([a.snapshot(), b.snapshot()], { from: 0, to: 0 })).toThrow(RangeError);
  });

  it('secondOf floors, also before the origin', () => {
    expect(secondOf(ORIGIN, ORIGIN)).toBe(0);
    expect(secondOf(ORIGIN, ORIGIN + 999.9)).toBe(0);
    expect(secondOf(ORIGIN, ORIGIN - 0.1)).toBe(-1);
  });

  it('worstSecondP99 is the largest p99 of any second, 0 without deliveries', () => {
    const e = (t: number, p99Ms: number | null): TimelineEntry => ({ t, fired: 0, accepted: 0, delivered: p99Ms === null ? 0 : 1, p50Ms: p99Ms, p99Ms, connections: 0, errors: 0 });
    expect(worstSecondP99([e(0, 3), e(1, null), e(2, 42.5), e(3, 7)])).toBe(42.5);
    expect(worstSecondP99([e(0, null)])).toBe(0);
    expect(worstSecondP99(undefined)).toBe(0);
  });
});

// ---- property: random runs over random threads against a brute-force oracle ----------------------

type Op =
  | { k: 'fired' | 'accepted' | 'error'; at: number; thread: number }
  | { k: 'delivered'; at: number; ms: number; thread: number }
  | { k: 'up'; at: number; c: number }
  | { k: 'down'; at: number; c: number };

const THREADS = 3;
const CONNS = 6;

const opArb = (span: number): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({ k: fc.constantFrom('fired' as const, 'accepted' as const, 'error' as const), at: fc.integer({ min: -span, max: span }), thread: fc.nat(THREADS - 1) }),
    fc.record({
      k: fc.constant('delivered' as const),
      at: fc.integer({ min: -span, max: span }),
      ms: fc.double({ min: 0.001, max: 5000, noNaN: true }),
      thread: fc.nat(THREADS - 1),
    }),
    fc.record({ k: fc.constant('up' as const), at: fc.integer({ min: -span, max: span }), c: fc.nat(CONNS - 1) }),
    fc.record({ k: fc.constant('down' as const), at: fc.integer({ min: -span, max: span }), c: fc.nat(CONNS - 1) }),
  );

/** The exact nearest-rank percentile of values rounded to microseconds (what the histogram records). */
function exactPercentile(ms: number[], p: number): number {
  const us = ms.map((x) => Math.max(1, Math.round(x * 1000))).sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * us.length));
  return us[rank - 1]! / 1000;
}

describe('timeline properties', () => {
  it('merged over threads it equals the brute-force count of every second, and sums to the totals', () => {
    fc.assert(
      fc.property(fc.array(opArb(6000), { maxLength: 120 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 120 }), (ops, to, originAfter) => {
        // connections belong to one thread each (as in the shards); ops in time order, the origin set
        // part way through (records before it wait for it)
        const sorted = [...ops].sort((a, b) => a.at - b.at);
        const recs = Array.from({ length: THREADS }, () => new TimelineRecorder(CONNS));
        sorted.forEach((op, i) => {
          if (i === originAfter) for (const r of recs) r.setOrigin(ORIGIN);
          const at = ORIGIN + op.at;
          if (op.k === 'up') recs[op.c % THREADS]!.connectionUp(op.c, at);
          else if (op.k === 'down') recs[op.c % THREADS]!.connectionDown(op.c, at);
          else if (op.k === 'delivered') recs[op.thread]!.delivered(at, op.ms);
          else if (op.k === 'fired') recs[op.thread]!.fired(at);
          else if (op.k === 'accepted') recs[op.thread]!.accepted(at);
          else recs[op.thread]!.error(at);
        });
        for (const r of recs) r.setOrigin(ORIGIN);
        const tl = buildTimeline(
          recs.map((r) => r.snapshot()),
          { from: 0, to },
        );

        // oracle
        const sec = (at: number): number => Math.floor(at / 1000);
        // an up for an open connection or a down for a closed one records nothing
        const state = new Array<boolean>(CONNS).fill(false);
        const effective = sorted.filter((o) => {
          if (o.k !== 'up' && o.k !== 'down') return true;
          if (state[o.c] === (o.k === 'up')) return false;
          state[o.c] = o.k === 'up';
          return true;
        });
        const secs = effective.map((o) => sec(o.at));
        const first = Math.min(0, ...secs);
        const last = Math.max(to, ...secs);
        expect(tl.map((e) => e.t)).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
        const up = new Array<boolean>(CONNS).fill(false);
        let open = 0;
        let opI = 0;
        for (const e of tl) {
          const here: Op[] = [];
          while (opI < sorted.length && sec(sorted[opI]!.at) <= e.t) here.push(sorted[opI++]!);
          for (const op of here) {
            if (op.k === 'up' && !up[op.c]) (up[op.c] = true), open++;
            if (op.k === 'down' && up[op.c]) (up[op.c] = false), open--;
          }
          const lat = here.flatMap((op) => (op.k === 'delivered' ? [op.ms] : []));
          expect(e.fired).toBe(here.filter((op) => op.k === 'fired').length);
          expect(e.accepted).toBe(here.filter((op) => op.k === 'accepted').length);
          expect(e.errors).toBe(here.filter((op) => op.k === 'error').length);
          expect(e.delivered).toBe(lat.length);
          expect(e.connections).toBe(open);
          if (lat.length === 0) {
            expect(e.p50Ms).toBeNull();
            expect(e.p99Ms).toBeNull();
          } else {
            // within the histogram's 3 significant digits of the exact percentile, never below it
            for (const [p, got] of [
              [50, e.p50Ms!],
              [99, e.p99Ms!],
            ] as const) {
              const exact = exactPercentile(lat, p);
              expect(got).toBeGreaterThanOrEqual(exact - 0.0005);
              expect(got).toBeLessThanOrEqual(exact * 1.002 + 0.0015);
            }
            expect(e.p99Ms!).toBeGreaterThanOrEqual(e.p50Ms!);
          }
        }
        const sum = (k: 'fired' | 'accepted' | 'errors' | 'delivered'): number => tl.reduce((s, e) => s + e[k], 0);
        expect(sum('fired')).toBe(ops.filter((o) => o.k === 'fired').length);
        expect(sum('accepted')).toBe(ops.filter((o) => o.k === 'accepted').length);
        expect(sum('errors')).toBe(ops.filter((o) => o.k === 'error').length);
        expect(sum('delivered')).toBe(ops.filter((o) => o.k === 'delivered').length);
      }),
      { numRuns: 150 },
    );
  });

  it('the merge is exact: any split over threads gives what one recorder fed everything gives', () => {
    fc.assert(
      fc.property(fc.array(opArb(4000), { maxLength: 150 }), (ops) => {
        const one = new TimelineRecorder(CONNS, ORIGIN);
        const many = Array.from({ length: THREADS }, () => new TimelineRecorder(CONNS, ORIGIN));
        for (const op of ops) {
          const at = ORIGIN + op.at;
          for (const r of [one, many[op.k === 'up' || op.k === 'down' ? op.c % THREADS : op.thread]!]) {
            if (op.k === 'up') r.connectionUp(op.c, at);
            else if (op.k === 'down') r.connectionDown(op.c, at);
            else if (op.k === 'delivered') r.delivered(at, op.ms);
            else if (op.k === 'fired') r.fired(at);
            else if (op.k === 'accepted') r.accepted(at);
            else r.error(at);
          }
        }
        const range = { from: 0, to: 1 };
        expect(buildTimeline(many.map((r) => r.snapshot()), range)).toEqual(buildTimeline([one.snapshot()], range));
      }),
      { numRuns: 100 },
    );
  });
});

describe('LiveSeconds', () => {
  it('reports the deliveries between windows and their latency, from cumulative histograms', () => {
    const live = new LiveSeconds(1000);
    const cum = createHistogram();
    for (let i = 0; i < 10; i++) recordMs(cum, 100);
    expect(live.sample(0, cum)).toBeUndefined(); // the first call only takes the baseline
    for (let i = 0; i < 20; i++) recordMs(cum, 2);
    expect(live.sample(500, cum)).toBeUndefined(); // less than a window later
    const w = live.sample(2000, cum)!;
    expect(w.deliveriesPerSec).toBe(10); // 20 in 2 s
    // the 100 ms receipts of before the window are not in it
    expect(w.p99Ms).toBeCloseTo(2, 2);
    expect(w.p50Ms).toBeCloseTo(2, 2);
    const idle = live.sample(3000, cum)!;
    expect(idle).toEqual({ deliveriesPerSec: 0, p50Ms: null, p99Ms: null });
  });
});
