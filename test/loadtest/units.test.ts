// Option resolution, seq ordering and exact histogram merging: the pieces the ledger trusts.
import { describe, expect, it } from 'vitest';
import { BugzappError, InvalidOptionError } from '../../src/errors.ts';
import { compareSeq, plannedEvents, resolveLoadTestOptions } from '../../src/loadtest/index.ts';
import { autoWorkers } from '../../src/loadtest/options.ts';
import { addEncoded, createHistogram, encodeHistogram, recordMs, summarize } from '../../src/loadtest/histogram.ts';
import { createRandom } from '../../src/loadtest/random.ts';

describe('resolveLoadTestOptions', () => {
  it('fills the defaults of the issue', () => {
    const o = resolveLoadTestOptions({});
    expect(o).toMatchObject({ urls: [], users: 100, connsPerUser: 1, connectRate: 500, events: 200, rate: 50, drainTimeoutMs: 10_000, workers: autoWorkers(0, 100) });
    expect(o.mix).toEqual({ bug_report: 70, comment: 20, update: 10 });
    expect(o.localAddresses).toEqual(['127.0.0.1']);
    expect(plannedEvents(o)).toBe(200);
  });

  it('--workers auto: the cores the server leaves free, at least one', () => {
    // 2 cores beside one server: one worker; 8 cores, one server and the main thread: six
    expect(autoWorkers(1, 4000, 2)).toBe(1);
    expect(autoWorkers(0, 4000, 2)).toBe(1);
    expect(autoWorkers(1, 4000, 8)).toBe(6);
    expect(autoWorkers(2, 4000, 8)).toBe(5);
    expect(autoWorkers(1, 4000, 1)).toBe(1);
    // a small run stays in the main thread; no more workers than one per 500 connections
    expect(autoWorkers(1, 999, 16)).toBe(0);
    expect(autoWorkers(1, 1000, 16)).toBe(2);
    expect(autoWorkers(1, 1200, 16)).toBe(3);
    expect(resolveLoadTestOptions({ workers: 'auto', users: 4000, urls: ['http://127.0.0.1:1'] }).workers).toBe(autoWorkers(1, 4000));
    expect(resolveLoadTestOptions({ workers: 3 }).workers).toBe(3);
  });

  it('rotates more loopback source addresses for large runs', () => {
    const o = resolveLoadTestOptions({ users: 50_000, connsPerUser: 1 });
    expect(o.localAddresses).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  });

  it('turns a duration into a number of events at the rate', () => {
    expect(plannedEvents(resolveLoadTestOptions({ durationMs: 30_000, rate: 40 }))).toBe(1200);
  });

  it('refuses a non-loopback target with ERR_LOADTEST_TARGET', () => {
    for (const url of ['http://10.0.0.1:8000', 'http://example.com', 'ws://192.168.1.2/ws']) {
      let err: unknown;
      try {
        resolveLoadTestOptions({ urls: [url] });
      } catch (e) {
        err = e;
      }
      expect(err, url).toBeInstanceOf(BugzappError);
      expect((err as BugzappError).code).toBe('ERR_LOADTEST_TARGET');
    }
    expect(resolveLoadTestOptions({ urls: ['http://127.0.0.2:1', 'http://localhost:2', 'http://[::1]:3'] }).urls).toHaveLength(3);
  });

  it('names the bad option', () => {
    const cases: [Parameters<typeof resolveLoadTestOptions>[0], string][] = [
      [{ users: 0 }, 'users'],
      [{ events: 5, durationMs: 1000 }, 'events'],
      [{ mix: { bogus: 1 } as never }, 'mix'],
      [{ mix: { bug_report: 0 } }, 'mix'],
      [{ localAddresses: ['10.0.0.1'] }, 'localAddresses'],
      [{ rate: -1 }, 'rate'],
    ];
    for (const [input, option] of cases) {
      let err: unknown;
      try {
        resolveLoadTestOptions(input);
      } catch (e) {
        err = e;
      }
      expect(err, option).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(option);
    }
  });
});

describe('compareSeq', () => {
  it('orders the shapes servers use and never guesses otherwise', () => {
    expect(compareSeq('9', '10')).toBeLessThan(0);
    expect(compareSeq('ab12-10', 'ab12-9')).toBeGreaterThan(0);
    expect(compareSeq('1700000000000-0', '1700000000001-0')).toBeLessThan(0);
    expect(compareSeq('1700000000000-2', '1700000000000-10')).toBeLessThan(0);
    expect(compareSeq('x', 'y')).toBe(0);
    expect(compareSeq('e1-5', 'e2-3')).toBe(0);
    expect(compareSeq('7', '7')).toBe(0);
  });
});

describe('histograms', () => {
  it('merge exactly through encode and add', () => {
    const random = createRandom(42);
    const all = createHistogram();
    const parts = [createHistogram(), createHistogram(), createHistogram()];
    for (let i = 0; i < 30_000; i++) {
      const ms = random() * random() * 500;
      recordMs(all, ms);
      recordMs(parts[i % 3]!, ms);
    }
    const merged = createHistogram();
    for (const p of parts) addEncoded(merged, encodeHistogram(p));
    expect(summarize(merged)).toEqual(summarize(all));
    expect(summarize(merged).count).toBe(30_000);
  });
});

describe('compareSeq on Redis stream seqs', () => {
  it('orders <epoch>:<ms>-<n> field by field', () => {
    expect(compareSeq('e7:1700000000000-5', 'e7:1700000000001-0')).toBeLessThan(0);
    expect(compareSeq('e7:1700000000001-0', 'e7:1700000000000-5')).toBeGreaterThan(0);
    expect(compareSeq('e7:1-0', 'e8:2-0')).toBe(0);
  });

  it('decides same-shape seqs on the fast path exactly as the field-wise guess', () => {
    expect(compareSeq('e1-15', 'e1-16')).toBeLessThan(0);
    expect(compareSeq('e1-16', 'e1-15')).toBeGreaterThan(0);
    expect(compareSeq('e1-16', 'e2-15')).toBe(0);
    expect(compareSeq('10', '11')).toBeLessThan(0);
    expect(compareSeq('x5', 'y5')).toBe(0);
    expect(compareSeq('e7:1700000000000-9', 'e7:1700000000000-10')).toBeLessThan(0);
  });
});
