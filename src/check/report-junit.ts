// JUnit XML of a check: one testsuite per protocol section, one testcase per case. Unsupported cases
// are failures unless the run allowed them (then skipped); error cases are JUnit errors.
import { SECTION_TITLES } from './cases.ts';
import type { CaseResult, CheckResult } from './types.ts';

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
    // characters XML 1.0 cannot carry at all
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

export function formatCheckJUnit(result: CheckResult, options: { allowUnsupported?: boolean } = {}): string {
  const bySection = new Map<string, CaseResult[]>();
  for (const c of result.cases) bySection.set(c.section, [...(bySection.get(c.section) ?? []), c]);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const s = result.summary;
  const failures = s.fail + (options.allowUnsupported ? 0 : s.unsupported);
  const total = result.cases.reduce((t, c) => t + c.durationMs, 0) / 1000;
  out.push(`<testsuites name="bugzapp check" tests="${s.total}" failures="${failures}" errors="${s.error}" time="${total.toFixed(3)}">`);
  for (const [section, cases] of bySection) {
    const f = cases.filter((c) => c.outcome === 'fail' || (c.outcome === 'unsupported' && !options.allowUnsupported)).length;
    const e = cases.filter((c) => c.outcome === 'error').length;
    const sk = cases.filter((c) => c.outcome === 'unsupported' && options.allowUnsupported).length;
    const t = cases.reduce((x, c) => x + c.durationMs, 0) / 1000;
    out.push(`  <testsuite name="${xml(`${section}. ${SECTION_TITLES[section] ?? ''}`)}" tests="${cases.length}" failures="${f}" errors="${e}" skipped="${sk}" time="${t.toFixed(3)}">`);
    for (const c of cases) {
      const open = `    <testcase classname="bugzapp.check.${xml(section)}" name="${xml(`${c.id}: ${c.title}`)}" time="${(c.durationMs / 1000).toFixed(3)}"`;
      const text = xml(`expected: ${c.expected}\nobserved: ${c.observed}`);
      if (c.outcome === 'pass') out.push(`${open}/>`);
      else if (c.outcome === 'error') out.push(`${open}>`, `      <error message="${xml(c.observed)}">${text}</error>`, '    </testcase>');
      else if (c.outcome === 'unsupported' && options.allowUnsupported) out.push(`${open}>`, `      <skipped message="unsupported: ${xml(c.observed)}"/>`, '    </testcase>');
      else out.push(`${open}>`, `      <failure message="${xml(c.outcome === 'unsupported' ? `unsupported: ${c.observed}` : c.observed)}">${text}</failure>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
