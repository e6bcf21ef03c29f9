// Gates: parsing (every op, every unit, every error) and evaluation against a result's figures.
import { describe, expect, it } from 'vitest';
import { isBugzappError } from '../../src/errors.ts';
import { FIGURE_NAMES, evaluateGates, figuresOf, formatFigure, mergeGates, parseGate, parseGates } from '../../src/loadtest/gates.ts';
import { counts, sampleResult } from './result-fixture.ts';

function gateError(text: string): string {
  try {
    parseGate(text);
  } catch (err) {
    if (isBugzappError(err)) {
      expect(err.code).toBe('ERR_GATE_SYNTAX');
      return err.message;
    }
    throw err;
  }
  throw new Error(`gate "${text}" parsed but should not have`);
}

describe('parseGate', () => {
  it('reads figure, op and threshold, normalising units', () => {
    expect(parseGate('delivery==100%')).toEqual({ expression: 'delivery==100%', figure: 'delivery', op: '==', threshold: 100 });
    expect(parseGate(' p99 <= 50ms ')).toEqual({ expression: 'p99 <= 50ms', figure: 'p99', op: '<=', threshold: 50 });
    expect(parseGate('p99<=0.05s').threshold).toBe(50);
    expect(parseGate('p999<120').threshold).toBe(120);
    expect(parseGate('misrouted==0')).toMatchObject({ figure: 'misrouted', op: '==', threshold: 0 });
    expect(parseGate('deliveries_per_sec>=1000/s').threshold).toBe(1000);
    expect(parseGate('deliveries_per_sec>1000').threshold).toBe(1000);
    expect(parseGate('rate_limit==PASS')).toMatchObject({ figure: 'rate_limit', op: '==', threshold: 'pass' });
    expect(parseGate('missing.notification==0').figure).toBe('missing.notification');
    expect(parseGate('DELIVERY.comment>=99.5%')).toMatchObject({ figure: 'delivery.comment', threshold: 99.5 });
  });

  it('accepts every op', () => {
    for (const op of ['==', '!=', '<=', '>=', '<', '>']) expect(parseGate(`late${op}3`).op).toBe(op);
  });

  it('knows at least the figures the issue names', () => {
    for (const name of [
      'delivery', 'p99', 'misrouted', 'connect_errors', 'missing', 'duplicated', 'out_of_order', 'late', 'p50', 'p90', 'p999',
      'max', 'notification_p99', 'broadcast_p99', 'spread_p99', 'deliveries_per_sec', 'rest_p99', 'rate_limit', 'event_loop_lag_p99',
    ]) {
      expect(FIGURE_NAMES).toContain(name);
    }
  });

  it.each([
    ['p99', /expected <figure> <op> <value>/],
    ['p99 =< 50ms', /expected <figure> <op> <value>|not a number/],
    ['p99 = 50ms', /expected <figure> <op> <value>|not a number/],
    ['latency<=50ms', /unknown figure "latency"/],
    ['p98<=50ms', /unknown figure "p98"/],
    ['delivery==100', /ratio: write it with %/],
    ['delivery==1ms', /ratio: write it with %/],
    ['p99<=50%', /duration: use ms or s/],
    ['p99<=50/s', /duration: use ms or s/],
    ['misrouted==0ms', /count: no unit/],
    ['deliveries_per_sec>=5ms', /rate: use \/s/],
    ['p99<=fast', /not a number/],
    ['rate_limit<=pass', /status: use == or !=/],
    ['rate_limit==ok', /one of pass, fail/],
  ])('refuses %s with ERR_GATE_SYNTAX naming the gate', (text, why) => {
    const message = gateError(text);
    expect(message).toContain(`"${text.trim()}"`);
    expect(message).toMatch(why);
  });

  it('parseGates stops at the first bad gate and names it', () => {
    expect(() => parseGates(['delivery==100%', 'p99<=lots', 'bogus==1'])).toThrow(/"p99<=lots"/);
  });
});

describe('figuresOf', () => {
  it('maps a result to named figures in their units', () => {
    const f = figuresOf(sampleResult());
    expect(f.delivery).toMatchObject({ kind: 'percent', value: 100 });
    expect(f.p99).toMatchObject({ kind: 'ms', value: 12 }); // the higher of broadcast 8 and notification 12
    expect(f.broadcast_p99!.value).toBe(8);
    expect(f.notification_p99!.value).toBe(12);
    expect(f.spread_p99!.value).toBe(3);
    expect(f.rest_p99!.value).toBe(5);
    expect(f.connect_errors).toMatchObject({ kind: 'count', value: 0 });
    expect(f.rate_limit).toMatchObject({ kind: 'status', value: 'pass' });
    expect(f.deliveries_per_sec).toMatchObject({ kind: 'per_sec', value: 350.5 });
    expect(f.event_loop_lag_p99!.value).toBe(4.5);
  });

  it('computes delivery per type from counts, never from totals that could cancel out', () => {
    const f = figuresOf(
      sampleResult((r) => {
        r.delivery.byType.notification = counts(14, 14, { delivered: 7, missing: 7 });
        r.delivery.byType.bug_report = counts(28, 560, { duplicated: 7 });
        r.delivery.total = counts(50, 734, { delivered: 727, missing: 7, duplicated: 7 });
      }),
    );
    expect(f['delivery.notification']!.value).toBe(50);
    expect(f['delivery.bug_report']!.value).toBe(100);
    expect(f.delivery!.value).toBeCloseTo((727 * 100) / 734, 10);
    expect(f.missing!.value).toBe(7);
    expect(f.duplicated!.value).toBe(7);
    expect(f['missing.notification']!.value).toBe(7);
  });

  it('uses broadcast latency alone when no notification arrived (and 100% delivery when nothing was expected)', () => {
    const f = figuresOf(
      sampleResult((r) => {
        r.latency.notification = { count: 0, mean: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
        r.delivery.byType.comment = counts(0, 0);
      }),
    );
    expect(f.p99!.value).toBe(8);
    expect(f['delivery.comment']!.value).toBe(100);
  });
});

describe('evaluateGates', () => {
  const figures = figuresOf(sampleResult());
  const check = (text: string): boolean => evaluateGates([parseGate(text)], figures)[0]!.pass;

  it('evaluates every op on both sides of the boundary', () => {
    // p99 is 12ms
    expect(check('p99==12ms')).toBe(true);
    expect(check('p99==11ms')).toBe(false);
    expect(check('p99!=11ms')).toBe(true);
    expect(check('p99!=12ms')).toBe(false);
    expect(check('p99<=12ms')).toBe(true);
    expect(check('p99<=11.9ms')).toBe(false);
    expect(check('p99>=12ms')).toBe(true);
    expect(check('p99>=12.1ms')).toBe(false);
    expect(check('p99<12.1ms')).toBe(true);
    expect(check('p99<12ms')).toBe(false);
    expect(check('p99>11.9ms')).toBe(true);
    expect(check('p99>12ms')).toBe(false);
  });

  it('compares seconds, percent, rates and statuses in the figure unit', () => {
    expect(check('p99<=0.012s')).toBe(true);
    expect(check('p99<=0.011s')).toBe(false);
    expect(check('delivery==100%')).toBe(true);
    expect(check('delivery<100%')).toBe(false);
    expect(check('deliveries_per_sec>=350/s')).toBe(true);
    expect(check('deliveries_per_sec>=351/s')).toBe(false);
    expect(check('rate_limit==pass')).toBe(true);
    expect(check('rate_limit!=pass')).toBe(false);
    expect(check('rate_limit==fail')).toBe(false);
  });

  it('reports expression, actual and display for each gate', () => {
    const results = evaluateGates(parseGates(['delivery==100%', 'p99<=10ms', 'misrouted==0']), figures);
    expect(results).toEqual([
      { expression: 'delivery==100%', figure: 'delivery', op: '==', threshold: 100, actual: 100, display: '100%', pass: true },
      { expression: 'p99<=10ms', figure: 'p99', op: '<=', threshold: 10, actual: 12, display: '12ms', pass: false },
      { expression: 'misrouted==0', figure: 'misrouted', op: '==', threshold: 0, actual: 0, display: '0', pass: true },
    ]);
  });

  it('a failing fault fails its gate', () => {
    const faulty = figuresOf(sampleResult((r) => (r.delivery.total.misrouted = 2)));
    expect(evaluateGates([parseGate('misrouted==0')], faulty)[0]).toMatchObject({ actual: 2, pass: false });
  });
});

describe('mergeGates and formatFigure', () => {
  it('lets a flag gate replace the scenario gates on the same figure', () => {
    const merged = mergeGates(parseGates(['p99<=50ms', 'delivery==100%', 'p99<=80ms']), parseGates(['p99<=200ms']));
    expect(merged.map((g) => g.expression)).toEqual(['delivery==100%', 'p99<=200ms']);
  });

  it('formats each kind', () => {
    expect(formatFigure('percent', 99.12345)).toBe('99.123%');
    expect(formatFigure('ms', 1.5)).toBe('1.5ms');
    expect(formatFigure('per_sec', 1234.56)).toBe('1234.6/s');
    expect(formatFigure('count', 3)).toBe('3');
    expect(formatFigure('status', 'unsupported')).toBe('unsupported');
  });
});
