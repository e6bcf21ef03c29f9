// The Markdown summary appended to $GITHUB_STEP_SUMMARY: verdict, gates, delivery per type, latency,
// rate limit and generator health, in GitHub-flavoured tables.
import type { LoadReport, Verdict } from './report-json.ts';
import { LATENCY_COLUMNS, LOGGED_TYPES, latencyRowsOf, describeOffender, describeResilience, describeTargets, formatMs, formatPercent } from './report-text.ts';

const ICON: Record<Verdict, string> = { pass: '✅', fail: '❌', invalid: '⚠️' };

/** Makes text safe inside a table cell: no pipes, no newlines, no HTML. */
export function escapeCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n/g, ' ');
}

/** A table row; strings and numbers are escaped, `{ code }` cells become code spans (only pipes escaped: GFM shows entities in code literally). */
function row(cells: (string | number | { code: string })[]): string {
  const render = (c: string | number | { code: string }): string =>
    typeof c === 'object' ? `\`${c.code.replace(/\|/g, '\\|')}\`` : escapeCell(String(c));
  return `| ${cells.map(render).join(' | ')} |`;
}

function header(cells: string[], align: ('l' | 'r')[]): string[] {
  return [row(cells), `|${align.map((a) => (a === 'r' ? ' ---: ' : ' --- ')).join('|')}|`];
}

export function formatMarkdownSummary(r: LoadReport): string {
  const out: string[] = [];
  out.push(`### ${ICON[r.verdict]} bugzapp load: ${r.verdict}${r.aborted ? ' (stopped early)' : ''}`);
  out.push('');
  const c = r.connections;
  const d = r.delivery;
  out.push(
    `${escapeCell(describeTargets(r))}: ${c.opened}/${c.target} connections, ${r.throughput.eventsFired} events at ${r.throughput.fireRate.toFixed(1)}/s` +
      `${r.throughput.restErrors ? `, ${r.throughput.restErrors} REST errors` : ''}${r.throughput.restUnanswered ? `, ${r.throughput.restUnanswered} never answered` : ''}, ` +
      `${d.total.delivered}/${d.total.expected} deliveries (${formatPercent(d.total.delivered, d.total.expected)}), ${r.throughput.deliveriesPerSec.toFixed(1)} deliveries/s.`,
  );
  const res = describeResilience(r);
  if (res.length) {
    out.push('', '**Resilience**', '');
    for (const line of res) out.push(`- ${escapeCell(line)}`);
  }
  if (r.reasons.length) {
    out.push('');
    for (const reason of r.reasons) out.push(`- ${escapeCell(reason)}`);
  }
  if (r.gates.length) {
    out.push('', ...header(['gate', 'actual', 'result'], ['l', 'r', 'l']));
    for (const g of r.gates) out.push(row([{ code: g.expression }, g.display, g.pass ? '✅ pass' : '❌ fail']));
  }
  out.push('', ...header(['type', 'events', 'expected', 'delivered', 'missing', 'duplicated', 'misrouted', 'out of order', 'late'], ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
  for (const type of LOGGED_TYPES) {
    const x = d.byType[type];
    out.push(row([type, x.events, x.expected, x.delivered, x.missing, x.duplicated, x.misrouted, x.outOfOrder, x.late]));
  }
  out.push('', ...header(['latency (ms)', 'count', ...LATENCY_COLUMNS.map(([l]) => l)], ['l', 'r', 'r', 'r', 'r', 'r', 'r']));
  for (const [label, pick] of latencyRowsOf(r)) {
    const s = pick(r);
    out.push(row([label, s.count, ...LATENCY_COLUMNS.map(([, k]) => (s.count ? formatMs(s[k]) : '-'))]));
  }
  out.push('', ...header(['check', 'status', 'detail'], ['l', 'l', 'l']));
  for (const check of r.checks) {
    const icon = check.status === 'pass' ? '✅' : check.status === 'fail' ? '❌' : '➖';
    out.push(row([check.name, `${icon} ${check.status}`, check.detail]));
  }
  if (d.firstOffenders.length) {
    out.push('', '<details><summary>First offending events</summary>', '');
    for (const o of d.firstOffenders) out.push(`- ${escapeCell(describeOffender(o))}`);
    out.push('', '</details>');
  }
  const g = r.generator;
  out.push('', `Generator: CPU ${g.cpuPercent}%, event-loop lag p99 ${g.eventLoopLagMs.p99} ms (bound ${g.saturationLagMs} ms)${g.saturated ? ' — **saturated, run invalid**' : ''}.`);
  return `${out.join('\n')}\n\n`;
}
