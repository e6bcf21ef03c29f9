// Plain text of a check: one line per case as it ends (not a terminal), and the closing summary with
// what failed, expected beside observed.
import { SECTION_TITLES } from './cases.ts';
import type { CaseResult, CheckResult } from './types.ts';

const MARK: Record<CaseResult['outcome'], string> = { pass: 'PASS', fail: 'FAIL', unsupported: 'UNSUPPORTED', error: 'ERROR' };

export function formatCheckLine(r: CaseResult): string {
  const line = `${MARK[r.outcome].padEnd(11)} ${r.id} (${r.durationMs} ms)`;
  return r.outcome === 'pass' ? line : `${line}\n            expected: ${r.expected}\n            observed: ${r.observed}`;
}

export function formatCheckText(result: CheckResult): string {
  const s = result.summary;
  const lines: string[] = [];
  const bad = result.cases.filter((c) => c.outcome !== 'pass');
  if (bad.length > 0) {
    lines.push('', 'Not passed:');
    for (const c of bad) {
      lines.push(`  ${MARK[c.outcome]} ${c.id} [section ${c.section}, ${SECTION_TITLES[c.section] ?? ''}] ${c.title}`);
      lines.push(`    expected: ${c.expected}`, `    observed: ${c.observed}`);
    }
  }
  lines.push(
    '',
    `${result.verdict === 'pass' ? 'PASS' : 'FAIL'}: ${result.target} against protocol ${result.protocolVersion}: ` +
      `${s.pass} of ${s.total} passed, ${s.fail} failed, ${s.unsupported} unsupported, ${s.error} errors`,
  );
  return `${lines.join('\n')}\n`;
}
