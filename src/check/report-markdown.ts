// The Markdown summary of a check (GITHUB_STEP_SUMMARY): the verdict, then a table of every case that
// did not pass, expected beside observed.
import type { CheckResult } from './types.ts';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ICON = { pass: '✅', fail: '❌', unsupported: '⚪', error: '⚠️' } as const;

export function formatCheckMarkdown(result: CheckResult): string {
  const s = result.summary;
  const lines = [
    `### bugzapp check: ${result.verdict === 'pass' ? '✅ pass' : '❌ fail'}`,
    '',
    `\`${result.target}\` against protocol ${result.protocolVersion}: **${s.pass}/${s.total}** passed, ${s.fail} failed, ${s.unsupported} unsupported, ${s.error} errors.`,
    '',
  ];
  const bad = result.cases.filter((c) => c.outcome !== 'pass');
  if (bad.length > 0) {
    lines.push('| | case | section | expected | observed |', '|---|---|---|---|---|');
    for (const c of bad) lines.push(`| ${ICON[c.outcome]} | \`${c.id}\` | ${c.section} | ${cell(c.expected)} | ${cell(c.observed)} |`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
