// The HTML page as a pure function of a report: every section there, text escaped, the charts built
// from the timeline (gaps where a second had no delivery), an older report without a timeline.
import { describe, expect, it } from 'vitest';
import { parseGates } from '../../src/loadtest/gates.ts';
import { escapeHtml, formatHtmlReport, niceStep } from '../../src/loadtest/report-html.ts';
import { buildLoadReport } from '../../src/loadtest/report-json.ts';
import type { LoadTestResult, TimelineEntry } from '../../src/loadtest/types.ts';
import { counts, sampleResult } from '../loadtest/result-fixture.ts';
import { externalReferences } from './chromium.ts';

const entry = (t: number, delivered: number, p50Ms: number | null, p99Ms: number | null, over: Partial<TimelineEntry> = {}): TimelineEntry => ({
  t,
  fired: 20,
  accepted: 20,
  delivered,
  p50Ms,
  p99Ms,
  connections: 20,
  errors: 0,
  ...over,
});

function withTimeline(tweak?: (r: LoadTestResult) => void): LoadTestResult {
  return sampleResult((r) => {
    r.timeline = [entry(-1, 0, null, null, { fired: 0, accepted: 0 }), entry(0, 300, 2, 8), entry(1, 0, null, null, { errors: 2 }), entry(2, 434, 3, 12)];
    tweak?.(r);
  });
}

/** The `d` of a chart's series path. */
function seriesPath(html: string, chart: string, series: string): string {
  const svg = new RegExp(`<svg[^>]*data-chart="${chart}"[\\s\\S]*?</svg>`).exec(html)?.[0] ?? '';
  return new RegExp(`data-series="${series}"[^>]* d="([^"]*)"`).exec(svg)?.[1] ?? '';
}

describe('formatHtmlReport', () => {
  it('has the verdict, the gates and checks, delivery per type, latency and five charts', () => {
    const report = buildLoadReport(withTimeline(), parseGates(['p99<=50ms', 'p99_max_1s<=10ms']));
    const html = formatHtmlReport(report);
    expect(report.verdict).toBe('fail');
    expect(html).toContain('<span class="verdict fail">FAIL</span>');
    expect(html).toContain('<code>p99&lt;=50ms</code>');
    expect(html).toContain('<code>p99_max_1s&lt;=10ms</code>');
    expect(html).toContain('actual 12ms');
    for (const c of report.checks) expect(html).toContain(`<td>${escapeHtml(c.name)}</td>`);
    for (const t of ['bug_report', 'comment', 'notification']) expect(html).toContain(`<td>${t}</td>`);
    expect(html.match(/<svg class="chart" data-chart="/g)).toHaveLength(5);
    for (const id of ['deliveries', 'latency', 'connections', 'errors', 'histogram']) expect(html).toContain(`data-chart="${id}"`);
    expect(html).toContain('prefers-color-scheme:dark');
    expect(externalReferences(html)).toEqual([]);
    // the same report, the same bytes
    expect(formatHtmlReport(report)).toBe(html);
  });

  it('draws one point a second and breaks the latency lines where a second had no delivery', () => {
    const html = formatHtmlReport(buildLoadReport(withTimeline()));
    const p99 = seriesPath(html, 'latency', 'p99');
    // seconds 0 and 2 have a p99, 1 has none: two separate pieces
    expect(p99.match(/M/g)).toHaveLength(2);
    expect(p99).not.toContain('L');
    const delivered = seriesPath(html, 'deliveries', 'delivered');
    expect(delivered.match(/[ML]/g)).toHaveLength(4);
    expect(seriesPath(html, 'errors', 'errors').match(/M/g)).toHaveLength(4);
    expect(html).toContain('>p99 12</text>');
    expect(html).toContain('>delivered 434</text>');
  });

  it('hovering a second shows all its figures; a long run leaves the tooltips out', () => {
    const html = formatHtmlReport(buildLoadReport(withTimeline()));
    const latency = /<svg[^>]*data-chart="latency"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(latency.match(/<rect class="hit"/g)).toHaveLength(4);
    expect(latency).toContain('<title>2s: 434 delivered (p50 3 ms, p99 12 ms); 20 fired, 20 accepted; 20 connections open; 0 errors</title>');
    expect(latency).toContain('<title>1s: 0 delivered (no deliveries); 20 fired, 20 accepted; 20 connections open; 2 errors</title>');
    const long = formatHtmlReport(
      buildLoadReport(
        sampleResult((r) => {
          r.timeline = Array.from({ length: 1000 }, (_, t) => entry(t, 10, 1, 2));
        }),
      ),
    );
    expect(long).not.toContain('class="hit"');
    expect(long.match(/data-chart="/g)).toHaveLength(5);
  });

  it('escapes everything that comes from the run', () => {
    const html = formatHtmlReport(
      buildLoadReport(
        withTimeline((r) => {
          r.delivery.byType.bug_report = counts(28, 560, { delivered: 559, missing: 1 });
          r.delivery.firstOffenders = [{ kind: 'missing', type: 'bug_report', event: 'bug_report:created:<script>alert(1)</script>', count: 1, connections: ['u1#1'] }];
          r.errors = ['<img src=x onerror=alert(1)>'];
          r.targets = ['http://127.0.0.1:1/"><script>'];
        }),
      ),
    );
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).toContain('bug_report:created:&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('<span class="bad">1</span>');
    expect(html.match(/<script>/g)).toHaveLength(1);
  });

  it('an older report without a timeline still renders, saying so', () => {
    const html = formatHtmlReport(buildLoadReport(sampleResult()));
    expect(html).toContain('has no timeline');
    expect(html.match(/data-chart="/g)).toHaveLength(1); // the latency histogram only
  });

  it('niceStep picks 1-2-5 steps', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(37, 8)).toBe(5);
    expect(niceStep(3600, 8)).toBe(500);
    expect(niceStep(0, 4)).toBe(1);
  });
});
