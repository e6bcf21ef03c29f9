// The shapes of a conformance run: a case (one normative rule of docs/protocol.md), its result, and the
// result of the whole run that the CLI renders as JSON, JUnit, Markdown, plain lines or an Ink view.
import type { CheckContext } from './context.ts';

/** pass; fail; unsupported (the feature is absent altogether); error (the harness could not run it). */
export type CaseOutcome = 'pass' | 'fail' | 'unsupported' | 'error';

/** What a case's body decides. */
export interface CaseVerdict {
  outcome: CaseOutcome;
  /** What the rule demands, short, with the numbers it checks ("10 per 1000 ms"). */
  expected: string;
  /** What was sent and what came back, short. */
  observed: string;
}

export interface CheckCase {
  /** Stable dotted id; docs/protocol.md carries it in brackets beside the rule it checks. */
  id: string;
  /** The protocol section, "2" to "8". */
  section: string;
  title: string;
  /** Needs `destructive` (it stops the server): skipped unless the user allows it. */
  destructive?: boolean;
  /** Longest this case may take. @default CheckOptions.caseTimeoutMs */
  timeoutMs?: number;
  run(ctx: CheckContext, signal: AbortSignal): Promise<CaseVerdict>;
}

export interface CaseResult extends CaseVerdict {
  id: string;
  section: string;
  title: string;
  durationMs: number;
}

export interface CheckSummary {
  total: number;
  pass: number;
  fail: number;
  unsupported: number;
  error: number;
}

export interface CheckResult {
  schemaVersion: 1;
  /** The base URL checked. */
  target: string;
  /** The version of docs/protocol.md the cases check. */
  protocolVersion: string;
  /** pass when every case passed (unsupported too, with allowUnsupported). */
  verdict: 'pass' | 'fail';
  summary: CheckSummary;
  cases: CaseResult[];
}

export interface CheckOptions {
  /** http(s):// or ws(s):// base URL of the server under test. */
  url: string;
  /** HS256 secret to mint good and bad tokens with. @default DEV_SECRET */
  secret?: string;
  /**
   * A ready token, for a server whose secret the user does not have: cases that need minted tokens
   * (other users, bad signatures of the right key, expiry) are reported as `error`. @default undefined
   */
  token?: string;
  /** Only these sections ("5") or id prefixes ("ratelimit"). @default every section */
  only?: string[];
  /** Unsupported cases do not fail the verdict. @default false */
  allowUnsupported?: boolean;
  /**
   * Run the destructive cases (graceful close): `stop` makes the server shut down (the CLI runs the
   * user's --stop-command). They run last, alone. @default undefined (skipped)
   */
  destructive?: { stop: () => Promise<void> };
  /** Cases run at once. @default 4 */
  concurrency?: number;
  /** Per-case deadline in ms. @default 15000 */
  caseTimeoutMs?: number;
  /** Called as each case starts and ends (the live view). */
  onCaseStart?: (c: { id: string; section: string; title: string }) => void;
  onCaseEnd?: (r: CaseResult) => void;
}
