// The cut schedule on its own (pure): when steps fall, how many connections a step takes, which ones
// (seeded, so a run repeats), and the flag syntax. Property-tested against a brute-force oracle.
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveLoadTestOptions } from '../../src/loadtest/options.ts';
import { loadScenario, parseScenario } from '../../src/loadtest/scenario.ts';
import { cutCount, nextStepAt, parseChurn, parseSlow, parseStorm, pickCuts, shardSeed, slowSeed, stepsBetween, type CutPlan } from '../../src/loadtest/churn.ts';
import { createRandom } from '../../src/loadtest/random.ts';

describe('cut schedule', () => {
  it('churn steps fall every interval from the start of the fire phase; storms once, before churn at the same time', () => {
    const plan: CutPlan = { churn: { percent: 10, intervalMs: 2000 }, storms: [{ percent: 50, atMs: 4000 }] };
    expect(stepsBetween(plan, 0, 6000).map((s) => [s.atMs, s.kind])).toEqual([
      [2000, 'churn'],
      [4000, 'storm'],
      [4000, 'churn'],
      [6000, 'churn'],
    ]);
    // (from, to]: nothing is cut twice when the timer fires late and catches up
    expect(stepsBetween(plan, 2000, 2000)).toEqual([]);
    expect(nextStepAt(plan, 2000)).toBe(4000);
    expect(nextStepAt({ storms: [{ percent: 100, atMs: 1000 }] }, 1000)).toBeUndefined();
  });

  it('property: stepping from step to step with nextStepAt visits exactly the steps a brute-force scan finds', () => {
    fc.assert(
      fc.property(
        fc.option(fc.record({ percent: fc.integer({ min: 1, max: 100 }), intervalMs: fc.integer({ min: 1, max: 50 }) }), { nil: undefined }),
        fc.array(fc.record({ percent: fc.integer({ min: 1, max: 100 }), atMs: fc.integer({ min: 0, max: 300 }) }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 300 }),
        (churn, storms, end) => {
          const plan: CutPlan = { ...(churn ? { churn } : {}), storms };
          // oracle: every ms from 1 to end, what is due exactly then
          const oracle: string[] = [];
          for (let t = 1; t <= end; t++) {
            storms.forEach((s, i) => s.atMs === t && oracle.push(`${t}:storm${i}`));
            if (churn && t % churn.intervalMs === 0) oracle.push(`${t}:churn`);
          }
          // the shard's loop: wake at nextStepAt, run what is due since the last wake
          const seen: string[] = [];
          let done = 0;
          for (let next = nextStepAt(plan, 0); next !== undefined && next <= end; next = nextStepAt(plan, done)) {
            for (const s of stepsBetween(plan, done, next)) seen.push(`${s.atMs}:${s.kind === 'storm' ? `storm${s.storm}` : 'churn'}`);
            done = next;
          }
          const key = (x: string): [number, number, string] => {
            const [t, k] = x.split(':') as [string, string];
            return [Number(t), k === 'churn' ? 1 : 0, k];
          };
          const order = (a: string, b: string): number => {
            const [ta, ka, na] = key(a);
            const [tb, kb, nb] = key(b);
            return ta - tb || ka - kb || (na < nb ? -1 : na > nb ? 1 : 0);
          };
          expect(seen).toEqual([...oracle].sort(order));
        },
      ),
    );
  });

  it('a step takes P% of the open connections, rounded, at least one, never more than are open', () => {
    expect(cutCount(200, 10)).toBe(20);
    expect(cutCount(3, 10)).toBe(1);
    expect(cutCount(0, 50)).toBe(0);
    expect(cutCount(7, 100)).toBe(7);
  });

  it('property: the choice is distinct connections out of the candidates, as many as cutCount says, and repeats with the seed', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 200 }), fc.integer({ min: 1, max: 100 }), fc.nat(), (cands, percent, seed) => {
        const a = pickCuts(cands, percent, createRandom(seed));
        expect(a.length).toBe(cutCount(cands.length, percent));
        expect(new Set(a).size).toBe(a.length);
        for (const c of a) expect(cands).toContain(c);
        expect(pickCuts(cands, percent, createRandom(seed))).toEqual(a);
      }),
    );
  });

  it('the seeded choice is spread over the candidates (not always the first ones) and differs per shard', () => {
    const cands = Array.from({ length: 100 }, (_, i) => i);
    const hits = new Array<number>(100).fill(0);
    const random = createRandom(42);
    for (let k = 0; k < 200; k++) for (const c of pickCuts(cands, 10, random)) hits[c]!++;
    // 2000 picks over 100: each about 20; none starved, none taken every time
    expect(Math.min(...hits)).toBeGreaterThan(3);
    expect(Math.max(...hits)).toBeLessThan(60);
    expect(shardSeed(42, 0)).not.toBe(shardSeed(42, 1));
  });

  it('parses the flags and names what is wrong', () => {
    expect(parseChurn('5%/2s')).toEqual({ percent: 5, intervalMs: 2000 });
    expect(parseChurn('12.5%/500ms')).toEqual({ percent: 12.5, intervalMs: 500 });
    expect(parseStorm('50%@10s')).toEqual({ percent: 50, atMs: 10_000 });
    expect(parseStorm('100%@0s')).toEqual({ percent: 100, atMs: 0 });
    for (const bad of ['5/2s', '0%/2s', '101%/2s', '5%', '5%/0s', '5%/2s/1']) expect(parseChurn(bad), bad).toHaveProperty('error');
    for (const bad of ['50@10s', '50%', '150%@1s', '50%@soon']) expect(parseStorm(bad), bad).toHaveProperty('error');
  });

  it('parses --slow P%[:DURATION] and names what is wrong', () => {
    expect(parseSlow('2%')).toEqual({ percent: 2 });
    expect(parseSlow('2%:5s')).toEqual({ percent: 2, durationMs: 5000 });
    expect(parseSlow('12.5%:750ms')).toEqual({ percent: 12.5, durationMs: 750 });
    expect(parseSlow('100%:1m')).toEqual({ percent: 100, durationMs: 60_000 });
    for (const bad of ['2', '0%', '101%', '2%:', '2%:0s', '2%:soon', '2%:5s:1', '2%/5s', '']) expect(parseSlow(bad), bad).toHaveProperty('error');
  });

  it('picks the slow connections with their own draw: the same seed, not the same choice as the cuts', () => {
    const all = Array.from({ length: 200 }, (_, i) => i);
    const slow = pickCuts(all, 5, createRandom(slowSeed(42, 0)));
    expect(pickCuts(all, 5, createRandom(slowSeed(42, 0)))).toEqual(slow);
    expect(pickCuts(all, 5, createRandom(shardSeed(42, 0)))).not.toEqual(slow);
    expect(slowSeed(42, 0)).not.toBe(slowSeed(42, 1));
  });
});

describe('resilience scenarios', () => {
  it('churn.json and storm.json load: churn every 2 s, a 100% storm mid-run, gated on nothing lost', async () => {
    const churn = await loadScenario(fileURLToPath(new URL('../../fixtures/scenarios/churn.json', import.meta.url)));
    const co = resolveLoadTestOptions(churn.input);
    expect(co.churn).toEqual({ percent: 5, intervalMs: 2000 });
    expect(co.seed).toBeGreaterThanOrEqual(0);
    const storm = await loadScenario(fileURLToPath(new URL('../../fixtures/scenarios/storm.json', import.meta.url)));
    const so = resolveLoadTestOptions(storm.input);
    expect(so.storms).toEqual([{ percent: 100, atMs: 10_000 }]);
    // mid-run: inside the fire phase
    expect(so.storms![0]!.atMs).toBeLessThan(so.durationMs!);
    for (const s of [churn, storm]) expect(s.gates.map((g) => g.expression)).toContain('lost_in_gaps==0');
  });

  it('a scenario with a bad churn, storm, slow share or token lifetime names the field', () => {
    expect(() => parseScenario({ slow: '2' })).toThrow(/slow/);
    expect(parseScenario({ slow: '2%:3s' }).input.slow).toEqual({ percent: 2, durationMs: 3000 });
    // a seed is drawn (and reported) for the choice of slow connections too
    expect(resolveLoadTestOptions(parseScenario({ slow: '2%' }).input).seed).toBeGreaterThanOrEqual(0);
    expect(resolveLoadTestOptions({ slow: { percent: 2 }, seed: 9 })).toMatchObject({ slow: { percent: 2 }, seed: 9 });
    expect(() => resolveLoadTestOptions({ slow: { percent: 0 } })).toThrow(/slow percent/);
    expect(() => parseScenario({ churn: '5%' })).toThrow(/churn/);
    expect(() => parseScenario({ storms: ['50%'] })).toThrow(/storms\[0\]/);
    expect(() => parseScenario({ tokenTtl: 'soon' })).toThrow(/tokenTtl/);
    expect(parseScenario({ churn: '5%/2s', storms: ['50%@5s'], seed: 9, tokenTtl: '5s' }).input).toMatchObject({
      churn: { percent: 5, intervalMs: 2000 },
      storms: [{ percent: 50, atMs: 5000 }],
      seed: 9,
      tokenTtlMs: 5000,
    });
  });
});
