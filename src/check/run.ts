// runCheck: the conformance suite against one server. Independent cases run a few at a time, each with
// its own users, connections and deadline; destructive ones (they stop the server) run last, alone.
import { setTimeout as delay } from 'node:timers/promises';
import { resolveWsUrl } from '../client/index.ts';
import { BugzappError, InvalidOptionError } from '../errors.ts';
import { DEV_SECRET } from '../protocol/index.ts';
import { ALL_CASES, selectCases } from './cases.ts';
import { CheckContext, CheckRun, HarnessError, ServerStepError } from './context.ts';
import type { CaseResult, CheckCase, CheckOptions, CheckResult, CheckSummary } from './types.ts';

/** The version of docs/protocol.md these cases check. */
export const PROTOCOL_VERSION = '1.1';

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_CASE_TIMEOUT_MS = 15_000;
/** Longest a single answer is waited for inside a case. */
const WAIT_MS = 5000;

export interface ResolvedCheckOptions {
  url: string;
  secret: string | undefined;
  token: string | undefined;
  cases: CheckCase[];
  allowUnsupported: boolean;
  destructive: { stop: () => Promise<void> } | undefined;
  concurrency: number;
  caseTimeoutMs: number;
}

export function resolveCheckOptions(o: CheckOptions): ResolvedCheckOptions {
  resolveWsUrl(o.url, 'url');
  if (o.secret === '') throw new InvalidOptionError('secret', 'must not be empty');
  const only = o.only?.map((s) => s.trim()).filter(Boolean);
  for (const s of only ?? []) {
    if (!ALL_CASES.some((c) => c.section === s || c.id === s || c.id.startsWith(`${s}.`))) {
      throw new InvalidOptionError('only', `no case in section or group ${JSON.stringify(s)} (sections 2 to 8, or an id prefix such as "ratelimit")`);
    }
  }
  const concurrency = o.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidOptionError('concurrency', `expected an integer >= 1, got ${concurrency}`);
  const caseTimeoutMs = o.caseTimeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
  if (!(caseTimeoutMs > 0)) throw new InvalidOptionError('caseTimeoutMs', `expected > 0, got ${caseTimeoutMs}`);
  const cases = selectCases(only, o.destructive !== undefined);
  if (cases.length === 0) {
    throw new InvalidOptionError('only', `${JSON.stringify(only?.join(','))} selects only destructive cases: add destructive (--destructive) to run them`);
  }
  // a given token alone means the user does not have the secret: mint nothing with a guessed one
  const secret = o.secret ?? (o.token !== undefined ? undefined : DEV_SECRET);
  return {
    url: o.url,
    secret,
    token: o.token,
    cases,
    allowUnsupported: o.allowUnsupported ?? false,
    destructive: o.destructive,
    // one user for every case (the token's): run them one at a time, or their messages share a limit
    concurrency: secret === undefined ? 1 : concurrency,
    caseTimeoutMs,
  };
}

export function summarize(cases: readonly CaseResult[]): CheckSummary {
  const s: CheckSummary = { total: cases.length, pass: 0, fail: 0, unsupported: 0, error: 0 };
  for (const c of cases) s[c.outcome]++;
  return s;
}

export async function runCheck(options: CheckOptions, { signal }: { signal?: AbortSignal } = {}): Promise<CheckResult> {
  const o = resolveCheckOptions(options);
  const runSignal = signal ?? new AbortController().signal;
  const run = new CheckRun(o.url, o.secret, o.token, WAIT_MS);
  const results = new Map<string, CaseResult>();
  try {
    await preflight(run, runSignal);
    const queue = o.cases.filter((c) => !c.destructive);
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c && !runSignal.aborted; c = queue.shift()) {
        results.set(c.id, await runCase(c, run, o, runSignal, options));
        // one user for every case (a ready token): the messages a section 5 case sent must leave the
        // rate window before the next case's count, or that case would be refused for this one's
        if (o.secret === undefined && c.section === '5') await delay(await windowMs(run, runSignal), undefined, { signal: runSignal }).catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, queue.length) }, worker));
    for (const c of o.cases.filter((x) => x.destructive)) {
      if (runSignal.aborted) break;
      results.set(c.id, await runCase(c, run, o, runSignal, options));
    }
  } finally {
    await run.close();
  }
  if (runSignal.aborted) throw new BugzappError('ERR_ABORTED', 'the check was stopped');
  const cases = o.cases.map((c) => results.get(c.id)).filter((r): r is CaseResult => r !== undefined);
  const summary = summarize(cases);
  const failing = summary.fail + summary.error + (o.allowUnsupported ? 0 : summary.unsupported);
  return { schemaVersion: 1, target: o.url, protocolVersion: PROTOCOL_VERSION, verdict: failing === 0 ? 'pass' : 'fail', summary, cases };
}

async function windowMs(run: CheckRun, signal: AbortSignal): Promise<number> {
  const advertised = await run.advertised(new CheckContext(run, signal)).catch(() => undefined);
  const w = advertised?.rate_limit?.window_ms;
  return (typeof w === 'number' && w > 0 && w <= 10_000 ? w : 1000) + 50;
}

/** A server that cannot be reached at all is a harness error, not sixty failed cases. */
async function preflight(run: CheckRun, signal: AbortSignal): Promise<void> {
  const ctx = new CheckContext(run, signal);
  try {
    await ctx.http('GET', '/healthz');
  } catch (err) {
    throw new BugzappError('ERR_CONNECT_FAILED', `cannot reach ${run.origin}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

async function runCase(c: CheckCase, run: CheckRun, o: ResolvedCheckOptions, runSignal: AbortSignal, hooks: CheckOptions): Promise<CaseResult> {
  hooks.onCaseStart?.({ id: c.id, section: c.section, title: c.title });
  const timeoutMs = c.timeoutMs ?? o.caseTimeoutMs;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  runSignal.addEventListener('abort', onAbort, { once: true });
  const ctx = new CheckContext(run, controller.signal, c.destructive ? o.destructive?.stop : undefined);
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  let result: CaseResult;
  const base = { id: c.id, section: c.section, title: c.title };
  try {
    const running = c.run(ctx, controller.signal);
    // a case that is still running at its deadline may reject later, once its sockets are closed
    running.catch(() => undefined);
    const verdict = await Promise.race([running, deadline]);
    const durationMs = Math.round(performance.now() - started);
    result =
      verdict === 'timeout'
        ? { ...base, outcome: 'fail', expected: 'an answer', observed: `no conclusion within ${timeoutMs} ms (the server did not answer)`, durationMs }
        : { ...base, ...verdict, durationMs };
  } catch (err) {
    const durationMs = Math.round(performance.now() - started);
    const message = err instanceof Error ? err.message : String(err);
    result = err instanceof ServerStepError
      ? { ...base, outcome: 'fail', expected: 'the server to serve the steps this case needs', observed: message, durationMs }
      : {
      ...base,
      outcome: 'error',
      expected: err instanceof HarnessError ? 'a token the harness can mint' : 'the case to run to a verdict',
      observed: err instanceof HarnessError ? message : `could not run: ${message}`,
      durationMs,
    };
  } finally {
    clearTimeout(timer);
    controller.abort();
    runSignal.removeEventListener('abort', onAbort);
    await ctx.closeAll();
  }
  hooks.onCaseEnd?.(result);
  return result;
}
