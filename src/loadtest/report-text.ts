// The plain summary of a load report, for stdout when it is not a terminal: aligned columns, no colour,
// no animation, stable enough to read in a CI log.
import type { LoadReport } from './report-json.ts';
import type { LatencySummary, LoggedType, Offender } from './types.ts';

export const LATENCY_ROWS: [label: string, pick: (r: LoadReport) => LatencySummary][] = [
  ['broadcast', (r) => r.latency.broadcast],
  ['notification', (r) => r.latency.notification],
  ['spread', (r) => r.latency.broadcastSpread],
  ['connect', (r) => r.latency.connect],
  ['rest', (r) => r.latency.rest],
];

/** The latency rows of a report: LATENCY_ROWS, then with --slow the paused connections' receipts apart. */
export function latencyRowsOf(r: LoadReport): [label: string, pick: (r: LoadReport) => LatencySummary][] {
  const slow = r.latency.slow;
  return slow ? [...LATENCY_ROWS, ['slow (paused)', () => slow]] : LATENCY_ROWS;
}

export const LATENCY_COLUMNS: [label: string, key: keyof LatencySummary][] = [
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p99', 'p99'],
  ['p99.9', 'p999'],
  ['max', 'max'],
];

export const LOGGED_TYPES: readonly LoggedType[] = ['bug_report', 'comment', 'notification'];

/** Milliseconds with at most 3 significant decimals: `0.412`, `12.3`, `1530`. */
export function formatMs(ms: number): string {
  if (ms >= 100) return String(Math.round(ms));
  if (ms >= 10) return String(Math.round(ms * 10) / 10);
  return String(Math.round(ms * 1000) / 1000);
}

export function formatPercent(delivered: number, expected: number): string {
  if (expected === 0) return '100%';
  const p = (delivered * 100) / expected;
  return `${p === 100 ? '100' : p >= 99.99 ? p.toFixed(3) : p.toFixed(2)}%`;
}

export function describeOffender(o: Offender): string {
  const kind = o.kind === 'outOfOrder' ? 'out of order' : o.kind === 'lostInGap' ? 'lost while reconnecting' : o.kind;
  const where = o.connections.length ? ` at ${o.connections.join(', ')}${o.count > o.connections.length ? ', ...' : ''}` : '';
  return `${kind} ${o.event}${o.nonce ? ` (nonce ${o.nonce})` : ''}: ${o.count} connection${o.count === 1 ? '' : 's'}${where}`;
}

/** The resilience figures of a run with churn or storms, one line each (none without). */
export function describeResilience(r: LoadReport): string[] {
  const x = r.resilience;
  if (!x) return [];
  const ms = (v: number): string => `${formatMs(v)}ms`;
  const lines = [
    `${x.cuts ? `${x.cuts} cut (${x.churnCuts} churn, ${x.stormCuts} storm; seed ${x.seed})` : 'no cuts'}, ${x.reconnects} reconnects, ${x.gaveUp} gave up, ${x.reconnectingAtEnd} still reconnecting at the end`,
    `reconnect (loss to connection_established) p50 ${ms(x.reconnectMs.p50)} p99 ${ms(x.reconnectMs.p99)} max ${ms(x.reconnectMs.max)}; ` +
      `resume (loss to first replayed event) p99 ${x.resumeMs.count ? ms(x.resumeMs.p99) : '-'} over ${x.resumeMs.count}; ${x.replayed} events replayed`,
  ];
  for (const st of x.storms) {
    lines.push(
      `storm ${st.percent}%@${formatMs(st.atMs)}ms: ${st.cut} cut, ${st.back} back${st.allBackMs !== null ? ` (all within ${ms(st.allBackMs)})` : ''}, ` +
        `${st.resumed} resumed with a replay${st.allResumedMs !== null ? ` (all within ${ms(st.allResumedMs)})` : ''}`,
    );
  }
  const sl = x.slow;
  if (sl) {
    lines.push(
      `slow ${sl.percent}%: ${sl.paused} connections stopped reading when firing started, ` +
        `${sl.durationMs !== null ? `for ${ms(sl.durationMs)}` : 'until firing ended (at most a heartbeat interval)'}; reading again, ` +
        `${sl.closed4008} were closed with 4008, ${sl.closedOther} closed otherwise, ${sl.notClosed} not closed` +
        `${sl.cut ? ` (${sl.cut} cut by --churn or --storm first)` : ''}; ${sl.back} of the closed back` +
        (r.latency.slow ? `; their latency p99 ${r.latency.slow.count ? ms(r.latency.slow.p99) : '-'} (the others' apart above)` : ''),
    );
  }
  if (x.slowConsumerCloses || x.tokenRefreshes) {
    lines.push(`${x.slowConsumerCloses} slow-consumer closes (4008), ${x.tokenRefreshes} token refreshes (4001) at ${x.tokenRefreshedConnections} connections`);
  }
  if (x.lostInGaps) {
    lines.push(
      `LOST WHILE RECONNECTING: ${x.lostInGaps} events at ${x.lostInGapsConnections} connections (no resume); first: ` +
        x.lostInGapsByConnection
          .slice(0, 10)
          .map((c) => `${c.connection} ${c.count}`)
          .join(', ') +
        (x.lostInGapsConnections > 10 ? ', ...' : ''),
    );
  } else lines.push('nothing lost while reconnecting');
  return lines;
}

/** Lists the targets, saying when bugzapp started the server itself. */
export function describeTargets(r: LoadReport): string {
  return `${r.targets.join(', ') || '(no target)'}${r.startedServer ? ' (reference server started by bugzapp)' : ''}`;
}

/** Aligned columns: the first `leftColumns` padded on the right (text), the rest on the left (numbers). */
function table(rows: string[][], indent = '  ', leftColumns = 1): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    (indent + row.map((cell, i) => (i < leftColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).trimEnd(),
  );
}

export function formatTextSummary(r: LoadReport): string {
  const lines: string[] = [];
  lines.push(`bugzapp load: ${r.verdict.toUpperCase()}${r.aborted ? ' (stopped early)' : ''}`);
  lines.push(`  target       ${describeTargets(r)}`);
  const c = r.connections;
  lines.push(`  connections  ${c.opened}/${c.target} opened, ${c.connectErrors} connect errors, ${c.reconnects} reconnects, ${c.dropped} dropped`);
  const res = describeResilience(r);
  if (res.length) {
    lines.push('  resilience');
    for (const line of res) lines.push(`    ${line}`);
  }
  const t = r.throughput;
  lines.push(
    `  fired        ${t.eventsFired} REST operations at ${t.fireRate.toFixed(1)}/s: ${t.eventsAccepted} accepted, ${t.restErrors} errors${t.restUnanswered ? `, ${t.restUnanswered} never answered` : ''}${t.restAnsweredLate ? `, ${t.restAnsweredLate} answered after the drain` : ''}${t.skipped ? `, ${t.skipped} skipped` : ''}`,
  );
  const d = r.delivery;
  lines.push(`  delivery     ${d.total.delivered}/${d.total.expected} (${formatPercent(d.total.delivered, d.total.expected)})${r.drainComplete ? '' : `, drain timed out${r.drainOwed ? ` with ${r.drainOwed} still owed` : ''}`}`);
  lines.push(
    ...table([
      ['type', 'events', 'expected', 'delivered', 'missing', 'duplicated', 'misrouted', 'out of order', 'late'],
      ...LOGGED_TYPES.map((type) => {
        const x = d.byType[type];
        return [type, x.events, x.expected, x.delivered, x.missing, x.duplicated, x.misrouted, x.outOfOrder, x.late].map(String);
      }),
    ], '    '),
  );
  lines.push('  latency (ms)');
  lines.push(
    ...table([
      ['', 'count', ...LATENCY_COLUMNS.map(([label]) => label)],
      ...latencyRowsOf(r).map(([label, pick]) => {
        const s = pick(r);
        return [label, String(s.count), ...LATENCY_COLUMNS.map(([, key]) => (s.count ? formatMs(s[key]) : '-'))];
      }),
    ], '    '),
  );
  lines.push(`  throughput   ${t.deliveriesPerSec.toFixed(1)} deliveries/s verified, ${t.framesReceived} frames received`);
  const rl = r.rateLimit;
  const limit = rl.checked ?? rl.measured;
  lines.push(`  rate limit   ${rl.status}${limit ? ` (${limit.max} per ${limit.windowMs} ms${rl.checked ? '' : ', measured'})` : ''}`);
  for (const detail of rl.details) lines.push(`    ${detail.pass ? 'ok  ' : 'FAIL'} ${detail.name}: ${detail.detail}`);
  const g = r.generator;
  lines.push(
    `  generator    CPU ${g.cpuPercent}%, event-loop lag p50 ${g.eventLoopLagMs.p50}ms p99 ${g.eventLoopLagMs.p99}ms max ${g.eventLoopLagMs.max}ms (bound ${g.saturationLagMs}ms)${g.saturated ? ': SATURATED' : ''}`,
  );
  const unsupported = Object.entries(r.capabilities)
    .filter(([, f]) => f.status !== 'supported')
    .map(([name, f]) => `${name} (${f.status})`);
  if (unsupported.length) lines.push(`  unsupported  ${unsupported.join(', ')}`);
  if (r.gates.length) {
    lines.push('  gates');
    lines.push(...table(r.gates.map((x) => [x.pass ? 'pass' : 'FAIL', x.expression, x.display]), '    ', 2));
  }
  if (d.firstOffenders.length) {
    lines.push('  first offenders');
    for (const o of d.firstOffenders) lines.push(`    ${describeOffender(o)}`);
  }
  if (r.errors.length) {
    lines.push('  harness errors');
    for (const e of r.errors) lines.push(`    ${e}`);
  }
  if (r.reasons.length) {
    lines.push(`  ${r.verdict}:`);
    for (const reason of r.reasons) lines.push(`    - ${reason}`);
  }
  return `${lines.join('\n')}\n`;
}
