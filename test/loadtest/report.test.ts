// The report views of a load result: checks and verdict, the JSON shape, JUnit XML parsed back by a
// small strict XML reader, the Markdown summary and the plain text summary.
import { describe, expect, it } from 'vitest';
import { parseGates } from '../../src/loadtest/gates.ts';
import { buildLoadReport, formatJsonReport, verdictExitCode } from '../../src/loadtest/report-json.ts';
import { escapeXml, formatJUnit } from '../../src/loadtest/report-junit.ts';
import { formatMarkdownSummary } from '../../src/loadtest/report-markdown.ts';
import { formatTextSummary } from '../../src/loadtest/report-text.ts';
import { counts, sampleResult } from './result-fixture.ts';

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** A strict reader for the XML subset JUnit uses: declaration, elements, attributes, text, entities. Throws on anything malformed. */
function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`malformed XML at ${i}: ${why} near ${JSON.stringify(xml.slice(i, i + 40))}`);
  };
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  const decode = (raw: string): string => {
    let out = '';
    for (let k = 0; k < raw.length; k++) {
      const ch = raw[k]!;
      if (ch === '<') fail('raw < in text');
      if (ch !== '&') {
        out += ch;
        continue;
      }
      const end = raw.indexOf(';', k);
      if (end < 0) fail('unterminated entity');
      const name = raw.slice(k + 1, end);
      if (!(name in entities)) fail(`unknown entity &${name};`);
      out += entities[name];
      k = end;
    }
    return out;
  };
  const isNameChar = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9_.:-]/.test(ch);
  const readName = (): string => {
    const start = i;
    while (isNameChar(xml[i])) i++;
    if (i === start) fail('expected a name');
    return xml.slice(start, i);
  };
  const skipSpace = (): void => {
    while (xml[i] === ' ' || xml[i] === '\n' || xml[i] === '\t' || xml[i] === '\r') i++;
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    i = end + 2;
  }
  const readElement = (): XmlElement => {
    skipSpace();
    if (xml[i] !== '<') fail('expected <');
    i++;
    const el: XmlElement = { name: readName(), attrs: {}, children: [], text: '' };
    for (;;) {
      skipSpace();
      if (xml.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      const attr = readName();
      if (Object.hasOwn(el.attrs, attr)) fail(`duplicate attribute ${attr}`);
      skipSpace();
      if (xml[i] !== '=') fail('expected =');
      i++;
      skipSpace();
      const quote = xml[i] ?? '';
      if (quote !== '"' && quote !== "'") fail('expected a quote');
      const end = xml.indexOf(quote, i + 1);
      if (end < 0) fail('unterminated attribute');
      el.attrs[attr] = decode(xml.slice(i + 1, end));
      i = end + 1;
    }
    for (;;) {
      const next = xml.indexOf('<', i);
      if (next < 0) fail(`unclosed <${el.name}>`);
      el.text += decode(xml.slice(i, next));
      i = next;
      if (xml.startsWith('</', i)) {
        i += 2;
        const name = readName();
        if (name !== el.name) fail(`</${name}> closes <${el.name}>`);
        skipSpace();
        if (xml[i] !== '>') fail('expected >');
        i++;
        return el;
      }
      el.children.push(readElement());
    }
  };
  const root = readElement();
  skipSpace();
  if (i !== xml.length) fail('content after the root element');
  return root;
}

const GATES = parseGates(['delivery==100%', 'p99<=50ms', 'misrouted==0', 'connect_errors==0']);

describe('buildLoadReport: checks and verdict', () => {
  it('passes a clean run with every gate held (exit 0)', () => {
    const report = buildLoadReport(sampleResult(), GATES);
    expect(report.verdict).toBe('pass');
    expect(report.exitCode).toBe(0);
    expect(report.reasons).toEqual([]);
    expect(report.gates.every((g) => g.pass)).toBe(true);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['run', 'connections', 'delivery.bug_report', 'delivery.comment', 'delivery.notification', 'misrouted', 'rest', 'rate-limit', 'generator', 'capability.seq']),
    );
  });

  it('fails on a failed gate (exit 1) and names it', () => {
    const report = buildLoadReport(sampleResult(), parseGates(['p99<=5ms']));
    expect(report.verdict).toBe('fail');
    expect(report.exitCode).toBe(1);
    expect(report.reasons).toEqual(['gate p99<=5ms failed: actual 12ms']);
  });

  it('fails on a failed check even without gates: a loss and a duplicate in different types do not cancel', () => {
    const report = buildLoadReport(
      sampleResult((r) => {
        r.delivery.byType.bug_report = counts(28, 560, { delivered: 557, missing: 3 });
        r.delivery.byType.comment = counts(8, 160, { duplicated: 3 });
      }),
    );
    expect(report.verdict).toBe('fail');
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(byName['delivery.bug_report']).toMatchObject({ status: 'fail', detail: '557/560 delivered over 28 events; 3 missing' });
    expect(byName['delivery.comment']).toMatchObject({ status: 'fail', detail: '160/160 delivered over 8 events; 3 duplicated' });
    expect(byName['delivery.notification']!.status).toBe('pass');
  });

  it('fails on misrouting, on a failed rate-limit check, on connect errors and on REST errors', () => {
    const cases: [string, Parameters<typeof sampleResult>[0]][] = [
      ['misrouted', (r) => (r.delivery.total.misrouted = 1)],
      ['rate-limit', (r) => (r.rateLimit.status = 'fail')],
      ['connections', (r) => ((r.connections.opened = 19), (r.connections.connectErrors = 1))],
      ['rest', (r) => (r.throughput.restErrors = 2)],
      ['run', (r) => (r.aborted = true)],
    ];
    for (const [name, tweak] of cases) {
      const report = buildLoadReport(sampleResult(tweak));
      expect(report.verdict, name).toBe('fail');
      expect(report.checks.find((c) => c.name === name)!.status, name).toBe('fail');
    }
  });

  it('is invalid (exit 3) when the generator saturated, whatever else failed', () => {
    const report = buildLoadReport(
      sampleResult((r) => {
        r.generator.saturated = true;
        r.generator.eventLoopLagMs.p99 = 250;
        r.delivery.total.misrouted = 1;
      }),
      parseGates(['p99<=1ms']),
    );
    expect(report.verdict).toBe('invalid');
    expect(report.exitCode).toBe(3);
    expect(report.reasons[0]).toMatch(/generator saturated .*250ms > 100ms/);
    expect(verdictExitCode('invalid')).toBe(3);
  });

  it('treats unsupported capabilities and a skipped rate limit as skipped, not failed', () => {
    const report = buildLoadReport(
      sampleResult((r) => {
        r.capabilities.seq = { status: 'unsupported', detail: 'events carry no seq' };
        r.capabilities.patch = { status: 'unknown', detail: 'not probed' };
        r.rateLimit = { status: 'skipped', details: [] };
        r.delivery.byType.comment = counts(0, 0);
      }),
    );
    expect(report.verdict).toBe('pass');
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
    expect(byName).toMatchObject({ 'capability.seq': 'unsupported', 'capability.patch': 'skipped', 'rate-limit': 'skipped', 'delivery.comment': 'skipped' });
  });
});

describe('the JSON report', () => {
  it('holds schemaVersion, verdict, gates, delivery, latency, throughput, rateLimit, generator and the rest', () => {
    const report = buildLoadReport(sampleResult(), GATES);
    const parsed = JSON.parse(formatJsonReport(report)) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      schemaVersion: 1,
      tool: 'bugzapp load',
      verdict: 'pass',
      exitCode: 0,
      gates: [
        { expression: 'delivery==100%', actual: 100, pass: true },
        { expression: 'p99<=50ms', actual: 12, pass: true },
        { expression: 'misrouted==0', actual: 0, pass: true },
        { expression: 'connect_errors==0', actual: 0, pass: true },
      ],
      delivery: { total: { expected: 734, delivered: 734 }, byType: { notification: { expected: 14 } } },
      latency: { broadcast: { p99: 8 }, notification: { p99: 12 } },
      throughput: { deliveriesPerSec: 350.5 },
      rateLimit: { status: 'pass', checked: { max: 10, windowMs: 1000 } },
      generator: { saturated: false, eventLoopLagMs: { p99: 4.5 } },
      connections: { opened: 20 },
      capabilities: { seq: { status: 'supported' } },
      timings: { totalMs: 3400 },
      options: { users: 20 },
      figures: { delivery: 100, p99: 12, rate_limit: 'pass' },
    });
    expect(Object.keys(parsed).slice(0, 3)).toEqual(['schemaVersion', 'tool', 'verdict']);
    expect(formatJsonReport(report).endsWith('}\n')).toBe(true);
  });
});

describe('the JUnit XML', () => {
  it('parses back with one test case per gate and per check, counts matching', () => {
    const report = buildLoadReport(
      sampleResult((r) => {
        r.delivery.byType.notification = counts(14, 14, { delivered: 12, missing: 2 });
        r.delivery.total = counts(50, 734, { delivered: 732, missing: 2 });
        r.delivery.firstOffenders = [{ kind: 'missing', type: 'notification', event: 'notification:17', count: 1, connections: ['u3#1'] }];
        r.capabilities.cursor = { status: 'unsupported', detail: 'no cursor' };
      }),
      GATES,
    );
    const root = parseXml(formatJUnit(report));
    expect(root.name).toBe('testsuites');
    const suite = root.children[0]!;
    expect(suite.name).toBe('testsuite');
    const cases = suite.children.filter((c) => c.name === 'testcase');
    expect(cases).toHaveLength(report.gates.length + report.checks.length);
    const failed = cases.filter((c) => c.children.some((x) => x.name === 'failure'));
    const skipped = cases.filter((c) => c.children.some((x) => x.name === 'skipped'));
    expect(suite.attrs.tests).toBe(String(cases.length));
    expect(suite.attrs.failures).toBe(String(failed.length));
    expect(suite.attrs.skipped).toBe(String(skipped.length));
    expect(root.attrs.failures).toBe(String(failed.length));
    expect(failed.map((c) => c.attrs.name).sort()).toEqual(['delivery.notification', 'delivery==100%']);
    expect(skipped.map((c) => c.attrs.name)).toContain('capability.cursor');
    const delivery = failed.find((c) => c.attrs.name === 'delivery.notification')!.children[0]!;
    expect(delivery.attrs.message).toBe('12/14 delivered over 14 events; 2 missing');
    expect(delivery.text).toContain('missing notification:17');
    const gate = cases.find((c) => c.attrs.name === 'p99<=50ms')!;
    expect(gate.attrs.classname).toBe('bugzapp.load.gate');
  });

  it('escapes markup, quotes and control characters so the file stays well-formed', () => {
    const nasty = `<script>"a" & 'b'</script>\u0001\u001b[31m`;
    const report = buildLoadReport(
      sampleResult((r) => {
        r.capabilities.seq = { status: 'unsupported', detail: nasty };
        r.connections.errorSamples = [nasty];
        r.connections.connectErrors = 1;
        r.targets = ['http://127.0.0.1:1/?a=1&b=<2>'];
      }),
      parseGates(['p99 < 1ms']),
    );
    const root = parseXml(formatJUnit(report));
    const cases = root.children[0]!.children.filter((c) => c.name === 'testcase');
    const seq = cases.find((c) => c.attrs.name === 'capability.seq')!;
    expect(seq.children[0]!.attrs.message).toBe(`unsupported: <script>"a" & 'b'</script>[31m`);
    expect(cases.find((c) => c.attrs.name === 'p99 < 1ms')!.children[0]!.name).toBe('failure');
    expect(escapeXml('a&b<c>"\'')).toBe('a&amp;b&lt;c&gt;&quot;&apos;');
  });
});

describe('the Markdown summary', () => {
  it('shows verdict, gate table, delivery per type and checks, with table cells escaped', () => {
    const report = buildLoadReport(
      sampleResult((r) => {
        r.delivery.byType.comment = counts(8, 160, { duplicated: 1 });
        r.capabilities.seq = { status: 'unsupported', detail: 'a | b\nc' };
      }),
      parseGates(['delivery==100%', 'p99<=5ms']),
    );
    const md = formatMarkdownSummary(report);
    expect(md.startsWith('### ❌ bugzapp load: fail\n')).toBe(true);
    expect(md).toContain('| `delivery==100%` | 100% | ✅ pass |');
    expect(md).toContain('| `p99<=5ms` | 12ms | ❌ fail |');
    expect(md).toContain('| comment | 8 | 160 | 160 | 0 | 1 | 0 | 0 | 0 |');
    expect(md).toContain('| capability.seq | ➖ unsupported | a \\| b c |');
    expect(md).toContain('- gate p99&lt;=5ms failed: actual 12ms'); // rendered as <= outside code spans
    // every table row has the same number of cells as its header
    for (const block of md.split('\n\n')) {
      const rows = block.split('\n').filter((l) => l.startsWith('|'));
      if (rows.length === 0) continue;
      const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
      for (const r of rows) expect(cells(r), r).toBe(cells(rows[0]!));
    }
  });
});

describe('the text summary', () => {
  it('names the verdict, the counts per type, latency rows, gates and reasons', () => {
    const report = buildLoadReport(
      sampleResult((r) => {
        r.delivery.byType.notification = counts(14, 14, { delivered: 13, missing: 1 });
        r.delivery.firstOffenders = [{ kind: 'missing', type: 'notification', event: 'notification:9', nonce: 'n-9', count: 1, connections: ['u9#1'] }];
      }),
      parseGates(['delivery.notification==100%']),
    );
    const text = formatTextSummary(report);
    expect(text.split('\n')[0]).toBe('bugzapp load: FAIL');
    expect(text).toMatch(/notification\s+14\s+14\s+13\s+1\s+0\s+0\s+0\s+0/);
    expect(text).toMatch(/broadcast\s+720\s+2\s+5\s+8\s+12\s+16/);
    expect(text).toMatch(/FAIL\s+delivery\.notification==100%\s+92\.857%/);
    expect(text).toContain('missing notification:9 (nonce n-9): 1 connection at u9#1');
    expect(text).toContain('- check delivery.notification failed: 13/14 delivered over 14 events; 1 missing');
  });

  it('says PASS with no reasons for a clean run', () => {
    const text = formatTextSummary(buildLoadReport(sampleResult(), GATES));
    expect(text.split('\n')[0]).toBe('bugzapp load: PASS');
    expect(text).not.toContain('failed');
  });
});

describe('every REST operation is accounted for', () => {
  const unanswered = (r: Parameters<NonNullable<Parameters<typeof sampleResult>[0]>>[0]): void => {
    r.throughput.eventsFired = 100;
    r.throughput.eventsAccepted = 96;
    r.throughput.restUnanswered = 4;
    r.throughput.restUnansweredOps = [25, 50, 75, 100];
    r.drainComplete = false;
    r.drainOwed = 0;
  };

  it('fails the rest check on operations never answered, naming them, in every view', () => {
    const report = buildLoadReport(sampleResult(unanswered));
    expect(report.verdict).toBe('fail');
    expect(report.exitCode).toBe(1);
    const rest = report.checks.find((c) => c.name === 'rest')!;
    expect(rest).toMatchObject({ status: 'fail', detail: '4 of 100 REST operations never answered: #25, #50, #75, #100' });
    expect(report.figures.rest_unanswered).toBe(4);
    expect(report.figures.drain_complete).toBe('fail');
    // the drain waited only on the unanswered operations: the rest check judges those, not the drain
    expect(report.checks.find((c) => c.name === 'drain')!.status).toBe('pass');
    expect(formatTextSummary(report)).toContain('4 never answered');
    expect(formatTextSummary(report)).toContain('check rest failed: 4 of 100 REST operations never answered: #25, #50, #75, #100');
    expect(formatMarkdownSummary(report)).toContain('4 of 100 REST operations never answered: #25, #50, #75, #100');
    const rootCases = parseXml(formatJUnit(report)).children[0]!.children.filter((c) => c.name === 'testcase');
    const restCase = rootCases.find((c) => c.attrs.name === 'rest')!;
    expect(restCase.children[0]!.name).toBe('failure');
    expect(restCase.children[0]!.attrs.message).toContain('#25, #50, #75, #100');
  });

  it('fails the rest check on refused or failed operations and on answers after the drain', () => {
    const failed = buildLoadReport(sampleResult((r) => ((r.throughput.restErrors = 2), (r.throughput.restFailedOps = [3, 9]))));
    expect(failed.checks.find((c) => c.name === 'rest')!.detail).toBe('2 of 40 REST operations failed: #3, #9');
    const late = buildLoadReport(sampleResult((r) => (r.throughput.restAnsweredLate = 1)));
    expect(late.checks.find((c) => c.name === 'rest')).toMatchObject({ status: 'fail', detail: '1 of 40 REST operations answered only after the drain' });
  });

  it('leaves unanswered operations to a gate on rest_unanswered when the user sets one', () => {
    const allowed = buildLoadReport(sampleResult(unanswered), parseGates(['rest_unanswered<=4']));
    expect(allowed.checks.find((c) => c.name === 'rest')!.status).toBe('pass');
    expect(allowed.verdict).toBe('pass');
    const strict = buildLoadReport(sampleResult(unanswered), parseGates(['rest_unanswered<=3']));
    expect(strict.verdict).toBe('fail');
    expect(strict.reasons).toEqual(['gate rest_unanswered<=3 failed: actual 4']);
  });

  it('fails the drain check when the drain timed out with deliveries owed, unless drain_complete is gated', () => {
    const owed = (r: Parameters<NonNullable<Parameters<typeof sampleResult>[0]>>[0]): void => {
      r.drainComplete = false;
      r.drainOwed = 3;
    };
    const report = buildLoadReport(sampleResult(owed));
    expect(report.checks.find((c) => c.name === 'drain')).toMatchObject({ status: 'fail', detail: 'the drain timed out after 10000 ms with 3 deliveries still owed' });
    expect(report.reasons).toContain('check drain failed: the drain timed out after 10000 ms with 3 deliveries still owed');
    expect(buildLoadReport(sampleResult(owed), parseGates(['drain_complete==fail'])).verdict).toBe('pass');
  });
});
