// The pure pieces of check: the future seq a case derives, the summary and exit code of a result, the
// JUnit and Markdown reports, and the Ink view driven through its reducer.
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import { formatCheckJUnit, formatCheckMarkdown, summarize, type CaseOutcome, type CaseResult, type CheckResult } from '../../src/check/index.ts';
import { futureSeq } from '../../src/check/resume.ts';
import { checkExitCode } from '../../src/cli/commands/check.ts';
import { guessSeqOrder } from '../../src/client/index.ts';
import { caseEnded, caseStarted, initialCheckState, withResult } from '../../src/cli/ui/check-state.ts';
import { CheckView } from '../../src/cli/ui/check-view.tsx';

const OUTCOMES: CaseOutcome[] = ['pass', 'fail', 'unsupported', 'error'];
const caseOf = (i: number, outcome: CaseOutcome, section = '5'): CaseResult => ({
  id: `group.case-${i}`,
  section,
  title: `case ${i}`,
  outcome,
  expected: `want <${i}> & "more"`,
  observed: `got | ${i}`,
  durationMs: 10 + i,
});
const resultOf = (cases: CaseResult[], allowUnsupported = false): CheckResult => {
  const summary = summarize(cases);
  const failing = summary.fail + summary.error + (allowUnsupported ? 0 : summary.unsupported);
  return { schemaVersion: 1, target: 'http://127.0.0.1:1', protocolVersion: '1.1', verdict: failing ? 'fail' : 'pass', summary, cases };
};

/** Every array of outcomes up to `max` long: small enough to try them all instead of sampling. */
function allOutcomeArrays(max: number): CaseOutcome[][] {
  const out: CaseOutcome[][] = [[]];
  for (let len = 1, layer: CaseOutcome[][] = [[]]; len <= max; len++) {
    layer = layer.flatMap((a) => OUTCOMES.map((o) => [...a, o]));
    out.push(...layer);
  }
  return out;
}

describe('futureSeq', () => {
  it('is after the cursor whenever the cursor ends in a number, for the seq shapes servers use', () => {
    const numbers = [0, 1, 9, 10, 99, 12345, 999_999_999, Number.MAX_SAFE_INTEGER];
    const shapes = numbers.flatMap((n) => [String(n), `0a1b2c3d-${n}`, `0a1b2c3d:${n}-${n}`, `0a1b2c3d:1700000000000-${n}`]);
    for (const cursor of shapes) {
      const f = futureSeq(cursor)!;
      expect(f).not.toBe(cursor);
      // oracle: the comparison the client itself uses when a seq's shape makes order evident
      expect(guessSeqOrder(f, cursor), `${cursor} -> ${f}`).toBeGreaterThan(0);
    }
  });
  it('gives up on a cursor without a trailing number', () => {
    expect(futureSeq('abc')).toBeUndefined();
    expect(futureSeq('')).toBeUndefined();
  });
});

describe('summary, verdict and exit code', () => {
  it('counts each outcome and exits 0 only when all passed, 1 on a failure or unsupported, 2 when only errors stand in the way (every mix up to 5 cases)', () => {
    for (const outcomes of allOutcomeArrays(5)) {
      for (const allow of [false, true]) {
        const r = resultOf(outcomes.map((o, i) => caseOf(i, o)), allow);
        const n = (o: CaseOutcome): number => outcomes.filter((x) => x === o).length;
        expect(r.summary).toEqual({ total: outcomes.length, pass: n('pass'), fail: n('fail'), unsupported: n('unsupported'), error: n('error') });
        // brute-force oracle, written out case by case
        let want: number;
        if (n('fail') > 0) want = 1;
        else if (n('unsupported') > 0 && !allow) want = 1;
        else if (n('error') > 0) want = 2;
        else want = 0;
        expect(checkExitCode(r, allow), `${outcomes.join(',')} allow=${allow}`).toBe(want);
      }
    }
  });
});

describe('reports', () => {
  const result = resultOf([caseOf(1, 'pass', '2'), caseOf(2, 'fail'), caseOf(3, 'unsupported'), caseOf(4, 'error')]);

  it('JUnit: one testcase per case in a testsuite per section, escaped, unsupported a failure unless allowed', () => {
    const xml = formatCheckJUnit(result);
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
    expect(xml).toContain('<testsuites name="bugzapp check" tests="4" failures="2" errors="1"');
    expect(xml).toContain('expected: want &lt;2&gt; &amp; &quot;more&quot;');
    expect(xml).toMatch(/name="group\.case-3: case 3"[^>]*>\s*<failure message="unsupported: got \| 3"/);
    expect(formatCheckJUnit(result, { allowUnsupported: true })).toMatch(/name="group\.case-3: case 3"[^>]*>\s*<skipped /);
  });

  it('Markdown: the verdict and a row per case that did not pass, pipes escaped', () => {
    const md = formatCheckMarkdown(result);
    expect(md).toMatch(/^### bugzapp check: ❌ fail$/m);
    expect(md).toContain('**1/4** passed');
    expect(md).toContain('| ❌ | `group.case-2` | 5 | want <2> & "more" | got \\| 2 |');
    expect(md).not.toContain('group.case-1');
  });
});

describe('the check view', () => {
  it('streams cases by section with a live count, then a table of what did not pass', () => {
    const cases = [caseOf(1, 'pass', '2'), caseOf(2, 'fail', '5'), caseOf(3, 'pass', '5')];
    let state = initialCheckState('http://127.0.0.1:1', cases);
    state = caseStarted(state, cases[0]!);
    state = caseStarted(state, cases[1]!);
    state = caseEnded(state, cases[0]!);
    const view = render(createElement(CheckView, { state }));
    expect(view.lastFrame()).toContain('1/3');
    expect(view.lastFrame()).toMatch(/2\. Authentication 1\/1/);
    expect(view.lastFrame()).toMatch(/… group\.case-2/);
    state = caseEnded(caseEnded(caseStarted(state, cases[2]!), cases[1]!), cases[2]!);
    state = withResult(state, resultOf(cases));
    view.rerender(createElement(CheckView, { state }));
    const frame = view.lastFrame()!;
    expect(frame).toMatch(/5\. Client messages 2\/2/);
    expect(frame).toMatch(/✗ group\.case-2 +expected want <2>/);
    expect(frame).toMatch(/observed got \| 2/);
    expect(frame).toContain('FAIL: 2 of 3 passed');
  });
});
