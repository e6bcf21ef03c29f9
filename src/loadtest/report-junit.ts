// The `--junit` file: one test case per gate and per check, so a CI's test view lists what a load run
// proved. Unsupported capabilities and skipped checks are <skipped/>, never failures.
import type { CheckResult, LoadReport } from './report-json.ts';

/** Escapes text for XML content and attribute values, dropping characters XML 1.0 cannot hold. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

interface Case {
  classname: string;
  name: string;
  outcome: 'pass' | 'fail' | 'skipped';
  message: string;
  body?: string;
}

function caseOfCheck(c: CheckResult): Case {
  const outcome = c.status === 'pass' ? 'pass' : c.status === 'fail' ? 'fail' : 'skipped';
  return { classname: `bugzapp.load.${c.group}`, name: c.name, outcome, message: c.status === 'unsupported' ? `unsupported: ${c.detail}` : c.detail };
}

function renderCase(c: Case): string {
  const open = `    <testcase classname="${escapeXml(c.classname)}" name="${escapeXml(c.name)}" time="0"`;
  if (c.outcome === 'pass') {
    return `${open}>\n      <system-out>${escapeXml(c.message)}</system-out>\n    </testcase>`;
  }
  if (c.outcome === 'skipped') return `${open}>\n      <skipped message="${escapeXml(c.message)}"/>\n    </testcase>`;
  return `${open}>\n      <failure message="${escapeXml(c.message)}" type="${escapeXml(c.classname)}">${escapeXml(c.body ?? c.message)}</failure>\n    </testcase>`;
}

export function formatJUnit(report: LoadReport): string {
  const cases: Case[] = [
    ...report.gates.map(
      (g): Case => ({
        classname: 'bugzapp.load.gate',
        name: g.expression,
        outcome: g.pass ? 'pass' : 'fail',
        message: `actual ${g.display}`,
      }),
    ),
    ...report.checks.map(caseOfCheck),
  ];
  const delivery = cases.find((c) => c.name.startsWith('delivery.') && c.outcome === 'fail');
  if (delivery && report.delivery.firstOffenders.length > 0) {
    delivery.body = `${delivery.message}\nfirst offenders:\n${report.delivery.firstOffenders
      .map((o) => `${o.kind} ${o.event}${o.nonce ? ` (nonce ${o.nonce})` : ''} x${o.count} at ${o.connections.join(', ')}`)
      .join('\n')}`;
  }
  const failures = cases.filter((c) => c.outcome === 'fail').length;
  const skipped = cases.filter((c) => c.outcome === 'skipped').length;
  const seconds = (report.timings.totalMs / 1000).toFixed(3);
  const suite = `bugzapp load (${report.verdict})`;
  const timestamp = new Date(report.timings.startedAt).toISOString().replace(/\.\d{3}Z$/, '');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="bugzapp load" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds}" timestamp="${timestamp}">`,
    '    <properties>',
    `      <property name="verdict" value="${escapeXml(report.verdict)}"/>`,
    ...report.targets.map((t) => `      <property name="target" value="${escapeXml(t)}"/>`),
    '    </properties>',
    ...cases.map(renderCase),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
