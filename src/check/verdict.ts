// Building a case's verdict: the rule's expectation beside what the server did.
import type { CaseVerdict } from './types.ts';

export const pass = (expected: string, observed: string): CaseVerdict => ({ outcome: 'pass', expected, observed });
export const fail = (expected: string, observed: string): CaseVerdict => ({ outcome: 'fail', expected, observed });
export const unsupported = (expected: string, observed: string): CaseVerdict => ({ outcome: 'unsupported', expected, observed });
export const judge = (ok: boolean, expected: string, observed: string): CaseVerdict => (ok ? pass : fail)(expected, observed);
