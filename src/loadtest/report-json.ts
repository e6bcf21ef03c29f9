// The load report: a LoadTestResult judged. Built-in checks (delivery per type, misrouting, the rate
// limit, connections, capabilities), the gates, and one verdict. The JSON file, the JUnit XML, the
// Markdown summary, the text summary and the dashboard's final frame are all views of this object.
import { BugzappError } from '../errors.ts';
import { evaluateGates, figuresOf, type FigureValue, type Gate, type GateResult } from './gates.ts';
import type { CapabilityName, CheckStatus, DeliveryCounts, LoadTestResult, LoggedType } from './types.ts';

export const LOAD_REPORT_SCHEMA_VERSION = 1;

/** pass: every gate and check held. fail: one did not. invalid: the generator saturated, figures are its own. */
export type Verdict = 'pass' | 'fail' | 'invalid';

export type CheckGroup = 'run' | 'connections' | 'delivery' | 'security' | 'rest' | 'rate-limit' | 'generator' | 'capability';

export interface CheckResult {
  group: CheckGroup;
  /** Unique within the report: `delivery.bug_report`, `rate-limit`, `capability.seq`. */
  name: string;
  /** `unsupported` and `skipped` never fail a run. */
  status: CheckStatus;
  detail: string;
}

export interface LoadReport extends Omit<LoadTestResult, 'schemaVersion'> {
  schemaVersion: typeof LOAD_REPORT_SCHEMA_VERSION;
  tool: 'bugzapp load';
  verdict: Verdict;
  /** 0 pass, 1 fail, 3 invalid. */
  exitCode: 0 | 1 | 3;
  /** Why the verdict is not pass, one line each (empty on pass). */
  reasons: string[];
  gates: GateResult[];
  checks: CheckResult[];
  /** Every figure a gate can name, with its value (ms, percent, per second, count or status). */
  figures: Record<string, FigureValue>;
}

const TYPES: readonly LoggedType[] = ['bug_report', 'comment', 'notification'];

export function verdictExitCode(verdict: Verdict): 0 | 1 | 3 {
  return verdict === 'pass' ? 0 : verdict === 'fail' ? 1 : 3;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `560/560 delivered` plus every non-zero fault: `3 missing, 1 duplicated`. */
export function describeCounts(c: DeliveryCounts): string {
  const faults: string[] = [];
  if (c.missing) faults.push(`${c.missing} missing`);
  if (c.duplicated) faults.push(`${c.duplicated} duplicated`);
  if (c.misrouted) faults.push(`${c.misrouted} misrouted`);
  if (c.outOfOrder) faults.push(`${c.outOfOrder} out of order`);
  if (c.late) faults.push(`${c.late} late`);
  if (c.lostInGaps) faults.push(`${c.lostInGaps} lost while reconnecting`);
  return `${c.delivered}/${c.expected} delivered over ${plural(c.events, 'event')}${faults.length ? `; ${faults.join(', ')}` : ''}`;
}

function deliveryFaults(c: DeliveryCounts): number {
  return c.missing + c.duplicated + c.misrouted + c.outOfOrder + c.late;
}

/** `#25, #50, #75, #100` (and `...` when there were more than listed). */
function opList(ops: readonly number[], count: number): string {
  return ops.length ? `: ${ops.map((n) => `#${n}`).join(', ')}${count > ops.length ? ', ...' : ''}` : '';
}

/**
 * Every REST operation is accounted for: never answered, failed (non-2xx, refused, timed out) and
 * answered only after the drain each fail the check, unless a gate on its figure (rest_unanswered,
 * rest_errors, rest_answered_late) judges it instead.
 */
function restCheck(result: LoadTestResult, gated: ReadonlySet<string>): CheckResult {
  const t = result.throughput;
  const unanswered = t.restUnanswered ?? 0;
  const late = t.restAnsweredLate ?? 0;
  const faults: string[] = [];
  const allowed: string[] = [];
  const judge = (n: number, figure: string, text: string): void => {
    if (n === 0) return;
    (gated.has(figure) ? allowed : faults).push(text);
  };
  judge(unanswered, 'rest_unanswered', `${unanswered} of ${t.eventsFired} REST operations never answered${opList(t.restUnansweredOps ?? [], unanswered)}`);
  judge(t.restErrors, 'rest_errors', `${t.restErrors} of ${t.eventsFired} REST operations failed${opList(t.restFailedOps ?? [], t.restErrors)}`);
  judge(late, 'rest_answered_late', `${late} of ${t.eventsFired} REST operations answered only after the drain`);
  const summary = `${t.eventsAccepted}/${t.eventsFired} REST operations accepted${t.skipped ? `, ${t.skipped} skipped (unsupported)` : ''}`;
  if (faults.length) return { group: 'rest', name: 'rest', status: 'fail', detail: faults.join('; ') };
  return { group: 'rest', name: 'rest', status: 'pass', detail: allowed.length ? `${summary}; left to the gates: ${allowed.join('; ')}` : summary };
}

/**
 * A drain that timed out with deliveries still owed fails (unless a gate on drain_complete judges it);
 * one that waited only on unanswered REST operations leaves them to the rest check.
 */
function drainCheck(result: LoadTestResult, gated: ReadonlySet<string>): CheckResult {
  const check = (status: CheckStatus, detail: string): CheckResult => ({ group: 'run', name: 'drain', status, detail });
  if (result.aborted) return check('skipped', 'the run was stopped before the drain ended');
  if (result.drainComplete) return check('pass', 'everything owed arrived before the drain timeout');
  const owed = result.drainOwed ?? 0;
  const unanswered = result.throughput.restUnanswered ?? 0;
  const what = [owed ? `${plural(owed, 'delivery', 'deliveries')} still owed` : '', unanswered ? `${plural(unanswered, 'REST operation')} unanswered` : '']
    .filter(Boolean)
    .join(', ');
  const detail = `the drain timed out after ${result.options.drainTimeoutMs} ms${what ? ` with ${what}` : ''}`;
  if (owed === 0) return check('pass', `${detail} (the rest check judges those)`);
  if (gated.has('drain_complete')) return check('pass', `${detail} (left to the gate on drain_complete)`);
  return check('fail', detail);
}

/**
 * Events fired while a connection reconnected without resume are lost: that fails the delivery unless
 * a gate on lost_in_gaps judges it (a server without resume, tested for how much it loses).
 */
function gapCheck(r: NonNullable<LoadTestResult['resilience']>, gated: ReadonlySet<string>): CheckResult {
  const check = (status: CheckStatus, detail: string): CheckResult => ({ group: 'delivery', name: 'lost_in_gaps', status, detail });
  const summary =
    `${plural(r.cuts, 'cut')}, ${plural(r.reconnects, 'reconnect')}, ${plural(r.replayed, 'event')} replayed` +
    (r.gaveUp ? `, ${r.gaveUp} gave up` : '');
  if (r.lostInGaps === 0) return check('pass', `nothing lost while reconnecting (${summary})`);
  const first = r.lostInGapsByConnection.slice(0, 5).map((x) => `${x.connection}: ${x.count}`).join(', ');
  const detail =
    `${plural(r.lostInGaps, 'event')} lost while reconnecting without resume, at ${plural(r.lostInGapsConnections, 'connection')}` +
    ` (first: ${first}${r.lostInGapsConnections > 5 ? ', ...' : ''}); ${summary}`;
  if (gated.has('lost_in_gaps')) return check('pass', `${detail} (left to the gate on lost_in_gaps)`);
  return check('fail', detail);
}

export function checksOf(result: LoadTestResult, gated: ReadonlySet<string> = new Set()): CheckResult[] {
  const checks: CheckResult[] = [];
  checks.push({
    group: 'run',
    name: 'run',
    status: result.aborted ? 'fail' : 'pass',
    detail: result.aborted ? 'stopped by a signal before the end: the figures cover what ran' : 'ran to the end',
  });
  const c = result.connections;
  // a connection the server dropped (and that could not resume) is owed nothing while it is away: the
  // drop itself is the fault, else a server that closes every connection would pass with 0 expected.
  // In a run that cuts connections on purpose the drops are ours: what they cost is judged by lost_in_gaps.
  const cutting = result.resilience !== undefined;
  checks.push({
    group: 'connections',
    name: 'connections',
    status: c.opened >= c.target && c.connectErrors === 0 && (cutting || c.dropped === 0) ? 'pass' : 'fail',
    detail:
      `${c.opened}/${c.target} opened, ${plural(c.connectErrors, 'connect error')}` +
      (c.dropped ? `, ${c.dropped} dropped mid-run without resume` : '') +
      (c.errorSamples.length ? ` (first: ${c.errorSamples[0]})` : ''),
  });
  for (const t of TYPES) {
    const counts = result.delivery.byType[t];
    const none = counts.events === 0 && counts.expected === 0;
    checks.push({
      group: 'delivery',
      name: `delivery.${t}`,
      status: none ? 'skipped' : deliveryFaults(counts) === 0 && counts.delivered === counts.expected ? 'pass' : 'fail',
      detail: none ? `no ${t} events were fired` : describeCounts(counts),
    });
  }
  const r = result.resilience;
  if (r) checks.push(gapCheck(r, gated));
  const misrouted = result.delivery.total.misrouted;
  checks.push({
    group: 'security',
    name: 'misrouted',
    status: misrouted === 0 ? 'pass' : 'fail',
    detail:
      misrouted === 0
        ? 'no notification reached a connection of another user'
        : `${plural(misrouted, 'notification')} reached a connection of another user`,
  });
  checks.push(restCheck(result, gated));
  checks.push(drainCheck(result, gated));
  const rl = result.rateLimit;
  const limit = rl.checked ?? rl.measured;
  checks.push({
    group: 'rate-limit',
    name: 'rate-limit',
    status: rl.status,
    detail:
      (limit ? `${limit.max} per ${limit.windowMs} ms${rl.checked ? '' : ' (measured)'}: ` : '') +
      (rl.details.length ? rl.details.map((d) => `${d.pass ? 'ok' : 'FAILED'} ${d.name}: ${d.detail}`).join('; ') : rl.status),
  });
  const g = result.generator;
  checks.push({
    group: 'generator',
    name: 'generator',
    status: g.saturated ? 'fail' : 'pass',
    detail: `event-loop lag p99 ${g.eventLoopLagMs.p99}ms (bound ${g.saturationLagMs}ms), CPU ${g.cpuPercent}%`,
  });
  for (const [name, finding] of Object.entries(result.capabilities) as [CapabilityName, { status: string; detail: string }][]) {
    checks.push({
      group: 'capability',
      name: `capability.${name}`,
      status: finding.status === 'supported' ? 'pass' : finding.status === 'unsupported' ? 'unsupported' : 'skipped',
      detail: finding.detail,
    });
  }
  return checks;
}

/** Judges a result: checks, gates and the verdict. Pure: the same result and gates give the same report. */
export function buildLoadReport(result: LoadTestResult, gates: readonly Gate[] = []): LoadReport {
  const figures = figuresOf(result);
  const gateResults = evaluateGates(gates, figures);
  const checks = checksOf(result, new Set(gates.map((g) => g.figure)));
  const reasons: string[] = [];
  if (result.generator.saturated) {
    reasons.push(
      `the load generator saturated (event-loop lag p99 ${result.generator.eventLoopLagMs.p99}ms > ${result.generator.saturationLagMs}ms): the figures measure the generator, not the server`,
    );
  }
  for (const c of checks) if (c.status === 'fail' && c.group !== 'generator') reasons.push(`check ${c.name} failed: ${c.detail}`);
  for (const g of gateResults) if (!g.pass) reasons.push(`gate ${g.expression} failed: actual ${g.display}`);
  const verdict: Verdict = result.generator.saturated ? 'invalid' : reasons.length > 0 ? 'fail' : 'pass';
  const { schemaVersion: _resultSchema, ...rest } = result;
  return {
    schemaVersion: LOAD_REPORT_SCHEMA_VERSION,
    tool: 'bugzapp load',
    verdict,
    exitCode: verdictExitCode(verdict),
    reasons,
    gates: gateResults,
    checks,
    ...rest,
    figures: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, f.value])),
  };
}

/** The `--report` file: the whole report, pretty-printed, newline-terminated. */
export function formatJsonReport(report: LoadReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/**
 * Reads a saved report back (`bugzapp report`): a LoadReport as `--report` writes it, or a bare
 * LoadTestResult (judged here, without gates). Checks the shape the renderers rely on, so a wrong file
 * is an ERR_LOADTEST_REPORT naming what is missing rather than a crash halfway through a page.
 */
export function parseLoadReport(text: string): LoadReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BugzappError('ERR_LOADTEST_REPORT', `not JSON: ${(err as Error).message}`);
  }
  const fail = (what: string): never => {
    throw new BugzappError('ERR_LOADTEST_REPORT', `not a bugzapp load report: ${what}`);
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(data)) return fail('expected a JSON object');
  const at = (path: string): unknown => path.split('.').reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), data);
  const need = (path: string, kind: 'object' | 'array' | 'number' | 'string' | 'boolean'): void => {
    const v = at(path);
    const ok = kind === 'object' ? isObj(v) : kind === 'array' ? Array.isArray(v) : typeof v === kind;
    if (!ok) fail(`${path} is missing or not ${kind === 'array' || kind === 'object' ? `an ${kind}` : `a ${kind}`}`);
  };
  if (data.schemaVersion !== 1) fail(`schemaVersion ${JSON.stringify(data.schemaVersion)} (this bugzapp reads 1)`);
  need('targets', 'array');
  need('connections', 'object');
  for (const k of ['target', 'opened', 'connectErrors', 'reconnects', 'dropped']) need(`connections.${k}`, 'number');
  need('connections.errorSamples', 'array');
  for (const t of ['bug_report', 'comment', 'notification', 'total'].map((x) => (x === 'total' ? 'delivery.total' : `delivery.byType.${x}`))) {
    for (const k of ['events', 'expected', 'delivered', 'missing', 'duplicated', 'misrouted', 'outOfOrder', 'late', 'unmatched']) need(`${t}.${k}`, 'number');
  }
  need('delivery.firstOffenders', 'array');
  for (const k of ['broadcast', 'notification', 'broadcastSpread', 'connect', 'rest', 'sendLag']) {
    for (const f of ['count', 'p50', 'p90', 'p99', 'p999', 'max']) need(`latency.${k}.${f}`, 'number');
  }
  need('latency.buckets', 'array');
  for (const k of ['eventsFired', 'eventsAccepted', 'restErrors', 'skipped', 'fireRate', 'deliveriesPerSec', 'framesReceived']) need(`throughput.${k}`, 'number');
  need('rateLimit.status', 'string');
  need('rateLimit.details', 'array');
  need('capabilities', 'object');
  need('generator.eventLoopLagMs', 'object');
  need('generator.saturated', 'boolean');
  for (const k of ['startedAt', 'connectMs', 'fireMs', 'drainMs', 'totalMs']) need(`timings.${k}`, 'number');
  need('errors', 'array');
  if (data.timeline !== undefined) {
    need('timeline', 'array');
    (data.timeline as unknown[]).forEach((e, i) => {
      if (!isObj(e) || typeof e.t !== 'number' || typeof e.delivered !== 'number' || typeof e.connections !== 'number') fail(`timeline[${i}] is not an entry`);
    });
  }
  if (data.tool === undefined && data.verdict === undefined) {
    // a bare result (runLoadTest's): judge it
    need('options', 'object');
    return buildLoadReport(data as unknown as LoadTestResult);
  }
  if (data.tool !== 'bugzapp load') fail(`tool ${JSON.stringify(data.tool)}`);
  need('verdict', 'string');
  if (!['pass', 'fail', 'invalid'].includes(data.verdict as string)) fail(`verdict ${JSON.stringify(data.verdict)}`);
  need('exitCode', 'number');
  need('reasons', 'array');
  need('gates', 'array');
  need('checks', 'array');
  need('figures', 'object');
  return data as unknown as LoadReport;
}
