// The state of the check view, a pure reduction of the runner's case events: cases grouped by section
// as they start and end, a live count, and the final result.
import { SECTION_TITLES } from '../../check/cases.ts';
import type { CaseResult, CheckResult } from '../../check/types.ts';

export interface CheckViewSection {
  section: string;
  title: string;
  total: number;
  done: CaseResult[];
  running: string[];
}

export interface CheckViewState {
  target: string;
  total: number;
  sections: CheckViewSection[];
  result: CheckResult | undefined;
}

export function initialCheckState(target: string, cases: readonly { id: string; section: string }[]): CheckViewState {
  const sections: CheckViewSection[] = [];
  for (const c of cases) {
    let s = sections.find((x) => x.section === c.section);
    if (!s) sections.push((s = { section: c.section, title: SECTION_TITLES[c.section] ?? '', total: 0, done: [], running: [] }));
    s.total++;
  }
  return { target, total: cases.length, sections, result: undefined };
}

const update = (state: CheckViewState, section: string, f: (s: CheckViewSection) => CheckViewSection): CheckViewState => ({
  ...state,
  sections: state.sections.map((s) => (s.section === section ? f(s) : s)),
});

export function caseStarted(state: CheckViewState, c: { id: string; section: string }): CheckViewState {
  return update(state, c.section, (s) => ({ ...s, running: [...s.running, c.id] }));
}

export function caseEnded(state: CheckViewState, r: CaseResult): CheckViewState {
  return update(state, r.section, (s) => ({ ...s, running: s.running.filter((id) => id !== r.id), done: [...s.done, r] }));
}

export function withResult(state: CheckViewState, result: CheckResult): CheckViewState {
  return { ...state, result };
}

export function counts(state: CheckViewState): { done: number; pass: number; fail: number; unsupported: number; error: number } {
  const c = { done: 0, pass: 0, fail: 0, unsupported: 0, error: 0 };
  for (const s of state.sections) for (const r of s.done) {
    c.done++;
    c[r.outcome]++;
  }
  return c;
}
