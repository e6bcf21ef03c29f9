// CI gates on a load test's figures: `delivery==100%`, `p99<=50ms`, `misrouted==0`, `rate_limit==pass`.
// figuresOf() names every figure a gate may use; parseGate() checks a gate against those names once, at
// the boundary, so a typo fails before the run rather than after it.
import { BugzappError } from '../errors.ts';
import { worstSecondP99 } from './timeline.ts';
import type { DeliveryCounts, LatencySummary, LoadTestResult, LoggedType } from './types.ts';

export type GateOp = '==' | '!=' | '<=' | '>=' | '<' | '>';
export const GATE_OPS: readonly GateOp[] = ['==', '!=', '<=', '>=', '<', '>'];

/**
 * How a figure is written and compared. `percent`: written with `%` (delivery is 0..100);
 * `ms`: durations, written bare (ms), with `ms` or with `s`; `count`: bare integers;
 * `per_sec`: rates, bare or with `/s`; `status`: a word (`pass`, `fail`, `unsupported`, `skipped`), `==`/`!=` only.
 */
export type FigureKind = 'percent' | 'ms' | 'count' | 'per_sec' | 'status';

export type FigureValue = number | string;

export interface Figure {
  kind: FigureKind;
  value: FigureValue;
  /** One line for `--help` and the docs. */
  description: string;
}

export type Figures = Record<string, Figure>;

export interface Gate {
  /** As the user wrote it, trimmed. */
  expression: string;
  figure: string;
  op: GateOp;
  /** Normalised to the figure's unit: ms for durations, percent for ratios, per second for rates. */
  threshold: FigureValue;
}

export interface GateResult {
  expression: string;
  figure: string;
  op: GateOp;
  threshold: FigureValue;
  /** The figure's value in the same unit as the threshold. */
  actual: FigureValue;
  /** `99.5%`, `12.3ms`, `0`, `pass`. */
  display: string;
  pass: boolean;
}

const TYPES: readonly LoggedType[] = ['bug_report', 'comment', 'notification'];
const COUNT_FIELDS: [string, keyof DeliveryCounts, string][] = [
  ['missing', 'missing', 'deliveries never received'],
  ['duplicated', 'duplicated', 'extra copies beyond the first'],
  ['misrouted', 'misrouted', 'notifications received by the wrong user'],
  ['out_of_order', 'outOfOrder', 'receipts with a lower seq than one already seen'],
  ['late', 'late', 'deliveries that arrived only after the drain'],
  ['unmatched', 'unmatched', 'receipts matching no fired event'],
  ['lost_in_gaps', 'lostInGaps', 'events lost while a connection reconnected without resume'],
  ['expected', 'expected', '(event, connection) pairs that had to be delivered'],
  ['delivered', 'delivered', '(event, connection) pairs delivered'],
];
const PERCENTILES: [string, keyof LatencySummary][] = [
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p99', 'p99'],
  ['p999', 'p999'],
  ['max', 'max'],
  ['mean', 'mean'],
];

function percentOf(delivered: number, expected: number): number {
  return expected === 0 ? 100 : (delivered * 100) / expected;
}

/**
 * Every named figure of a result. The unprefixed latency figures (`p99`, `max`) cover broadcasts and
 * notifications together: the higher of the two, which bounds the combined percentile from above.
 */
export function figuresOf(result: LoadTestResult): Figures {
  const f: Figures = {};
  const d = result.delivery;
  f.delivery = { kind: 'percent', value: percentOf(d.total.delivered, d.total.expected), description: 'delivered / expected, all types' };
  for (const t of TYPES) {
    const c = d.byType[t];
    f[`delivery.${t}`] = { kind: 'percent', value: percentOf(c.delivered, c.expected), description: `delivered / expected, ${t}` };
  }
  for (const [name, field, description] of COUNT_FIELDS) {
    f[name] = { kind: 'count', value: d.total[field] ?? 0, description: `${description}, all types` };
    for (const t of TYPES) f[`${name}.${t}`] = { kind: 'count', value: d.byType[t][field] ?? 0, description: `${description}, ${t}` };
  }
  const c = result.connections;
  f.connections = { kind: 'count', value: c.opened, description: 'connections that got connection_established' };
  f.connect_errors = { kind: 'count', value: c.connectErrors, description: 'connections that failed to open' };
  f.reconnects = { kind: 'count', value: c.reconnects, description: 'connections reopened during the run' };
  f.dropped = { kind: 'count', value: c.dropped, description: 'connections closed by the server during the run' };
  const r = result.resilience;
  const zero = { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0 };
  f.cuts = { kind: 'count', value: r?.cuts ?? 0, description: 'connections cut by --churn and --storm' };
  f.reconnect_p50 = { kind: 'ms', value: (r?.reconnectMs ?? zero).p50, description: 'a loss (cut) to connection_established, p50' };
  f.reconnect_p99 = { kind: 'ms', value: (r?.reconnectMs ?? zero).p99, description: 'a loss (cut) to connection_established, p99' };
  f.resume_p99 = { kind: 'ms', value: (r?.resumeMs ?? zero).p99, description: 'a loss (cut) to the first replayed event, p99' };
  f.replayed = { kind: 'count', value: r?.replayed ?? 0, description: 'events replayed by resumes' };
  f.gave_up = { kind: 'count', value: r?.gaveUp ?? 0, description: 'connections that stopped reconnecting' };
  f.slow_consumer_closes = { kind: 'count', value: r?.slowConsumerCloses ?? 0, description: 'closes with 4008 (slow consumer) seen' };
  f.slow_paused = { kind: 'count', value: r?.slow?.paused ?? 0, description: 'connections that stopped reading (--slow)' };
  f.slow_not_closed = {
    kind: 'count',
    value: r?.slow?.notClosed ?? 0,
    description: 'connections paused by --slow that the server had not closed when they read again',
  };
  f.token_refreshes = { kind: 'count', value: r?.tokenRefreshes ?? 0, description: 'closes with 4001 (token expired) followed by a fresh token' };
  f.token_refreshed_connections = { kind: 'count', value: r?.tokenRefreshedConnections ?? 0, description: 'connections that got a fresh token after a 4001 at least once' };
  f.storm_all_back = {
    kind: 'ms',
    value: (r?.storms ?? []).reduce((m, s) => Math.max(m, s.allBackMs ?? 0), 0),
    description: 'the longest time from a storm until every connection it cut was back',
  };

  const l = result.latency;
  const b = l.broadcast;
  const n = l.notification;
  for (const [name, field] of PERCENTILES) {
    const value = b.count === 0 ? n[field] : n.count === 0 ? b[field] : Math.max(b[field], n[field]);
    f[name] = { kind: 'ms', value, description: `push latency ${name}, broadcasts and notifications (the higher)` };
  }
  f.p99_max_1s = {
    kind: 'ms',
    value: worstSecondP99(result.timeline),
    description: 'the worst one-second p99 of push latency over the timeline (0 when no second had a delivery)',
  };
  const groups: [string, LatencySummary, string][] = [
    ['broadcast', b, 'broadcast push latency'],
    ['notification', n, 'notification push latency'],
    ['spread', l.broadcastSpread, "a broadcast's first to last receipt"],
    ['connect', l.connect, 'upgrade to connection_established'],
    ['rest', l.rest, 'REST request to response'],
    ['send_lag', l.sendLag, 'intended to actual send time of a POST'],
    ['slow', l.slow ?? zero, 'push latency at the connections paused by --slow (the others are broadcast_ and notification_)'],
  ];
  for (const [prefix, s, what] of groups) {
    for (const [name, field] of PERCENTILES) f[`${prefix}_${name}`] = { kind: 'ms', value: s[field], description: `${what}, ${name}` };
  }

  const t = result.throughput;
  f.deliveries_per_sec = { kind: 'per_sec', value: t.deliveriesPerSec, description: 'deliveries verified per second' };
  f.fire_rate = { kind: 'per_sec', value: t.fireRate, description: 'REST operations fired per second' };
  f.events_fired = { kind: 'count', value: t.eventsFired, description: 'REST operations fired' };
  f.events_accepted = { kind: 'count', value: t.eventsAccepted, description: 'REST operations answered 2xx' };
  f.rest_errors = { kind: 'count', value: t.restErrors, description: 'REST operations that failed (non-2xx, refused, timed out)' };
  f.rest_unanswered = { kind: 'count', value: t.restUnanswered ?? 0, description: 'REST operations never answered' };
  f.rest_answered_late = { kind: 'count', value: t.restAnsweredLate ?? 0, description: 'REST operations answered only after the drain' };
  f.drain_complete = {
    kind: 'status',
    value: result.drainComplete ? 'pass' : 'fail',
    description: 'the drain: pass when everything owed arrived before its timeout, else fail',
  };

  f.rate_limit = { kind: 'status', value: result.rateLimit.status, description: 'the rate-limit check: pass, fail, unsupported or skipped' };

  const g = result.generator;
  f.event_loop_lag_p50 = { kind: 'ms', value: g.eventLoopLagMs.p50, description: "the generator's event-loop lag p50" };
  f.event_loop_lag_p99 = { kind: 'ms', value: g.eventLoopLagMs.p99, description: "the generator's event-loop lag p99" };
  f.event_loop_lag_max = { kind: 'ms', value: g.eventLoopLagMs.max, description: "the generator's event-loop lag max" };
  f.generator_cpu = { kind: 'percent', value: g.cpuPercent, description: "the generator's CPU, percent of one core" };
  return f;
}

/** The figure names any result has (for help texts and for checking gates before a run). */
export const FIGURE_NAMES: readonly string[] = Object.keys(figuresOf(emptyResultForNames()));

const STATUS_WORDS = ['pass', 'fail', 'unsupported', 'skipped'];
const GATE_RE = /^\s*([a-z][a-z0-9_]*(?:\.[a-z_]+)?)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$/i;
const VALUE_RE = /^(-?\d+(?:\.\d+)?)\s*(%|ms|s|\/s)?$/i;

function syntaxError(expression: string, why: string): BugzappError {
  return new BugzappError('ERR_GATE_SYNTAX', `gate "${expression}": ${why}`);
}

/** Parses one gate and checks its figure and unit. Throws ERR_GATE_SYNTAX naming the gate. */
export function parseGate(text: string): Gate {
  const expression = text.trim();
  const m = GATE_RE.exec(expression);
  if (!m) throw syntaxError(expression, `expected <figure> <op> <value>[unit], ops ${GATE_OPS.join(' ')} (e.g. p99<=50ms)`);
  const figure = m[1]!.toLowerCase();
  const op = m[2] as GateOp;
  const raw = m[3]!;
  const kind = KINDS.get(figure);
  if (kind === undefined) {
    const near = FIGURE_NAMES.filter((n) => n.startsWith(figure.slice(0, 3))).slice(0, 5);
    throw syntaxError(expression, `unknown figure "${figure}"${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
  }
  if (kind === 'status') {
    const word = raw.toLowerCase();
    if (op !== '==' && op !== '!=') throw syntaxError(expression, `${figure} is a status: use == or !=`);
    if (!STATUS_WORDS.includes(word)) throw syntaxError(expression, `${figure} is one of ${STATUS_WORDS.join(', ')}, got "${raw}"`);
    return { expression, figure, op, threshold: word };
  }
  const v = VALUE_RE.exec(raw);
  if (!v) throw syntaxError(expression, `"${raw}" is not a number with an optional unit (%, ms, s, /s)`);
  const num = Number(v[1]);
  const unit = v[2]?.toLowerCase();
  let threshold: number;
  switch (kind) {
    case 'percent':
      if (unit !== '%') throw syntaxError(expression, `${figure} is a ratio: write it with % (e.g. ${figure}>=99.9%)`);
      threshold = num;
      break;
    case 'ms':
      if (unit !== undefined && unit !== 'ms' && unit !== 's') throw syntaxError(expression, `${figure} is a duration: use ms or s, not ${unit}`);
      threshold = unit === 's' ? num * 1000 : num;
      break;
    case 'per_sec':
      if (unit !== undefined && unit !== '/s') throw syntaxError(expression, `${figure} is a rate: use /s, not ${unit}`);
      threshold = num;
      break;
    case 'count':
      if (unit !== undefined) throw syntaxError(expression, `${figure} is a count: no unit, got ${unit}`);
      threshold = num;
      break;
  }
  return { expression, figure, op, threshold };
}

/** Parses every gate; the first bad one throws. */
export function parseGates(texts: readonly string[]): Gate[] {
  return texts.map(parseGate);
}

function compare(actual: FigureValue, op: GateOp, threshold: FigureValue): boolean {
  if (typeof actual === 'string' || typeof threshold === 'string') {
    return op === '==' ? actual === threshold : op === '!=' ? actual !== threshold : false;
  }
  switch (op) {
    case '==':
      return actual === threshold;
    case '!=':
      return actual !== threshold;
    case '<=':
      return actual <= threshold;
    case '>=':
      return actual >= threshold;
    case '<':
      return actual < threshold;
    case '>':
      return actual > threshold;
  }
}

/** A figure's value as a person reads it: `99.5%`, `12.3ms`, `4,000/s`, `0`, `pass`. */
export function formatFigure(kind: FigureKind, value: FigureValue): string {
  if (typeof value === 'string') return value;
  const round = (x: number, digits: number): string => String(Math.round(x * 10 ** digits) / 10 ** digits);
  switch (kind) {
    case 'percent':
      return `${round(value, 3)}%`;
    case 'ms':
      return `${round(value, 3)}ms`;
    case 'per_sec':
      return `${round(value, 1)}/s`;
    default:
      return round(value, 3);
  }
}

export function evaluateGates(gates: readonly Gate[], figures: Figures): GateResult[] {
  return gates.map((g) => {
    const fig = figures[g.figure];
    if (!fig) throw syntaxError(g.expression, `unknown figure "${g.figure}"`);
    return {
      expression: g.expression,
      figure: g.figure,
      op: g.op,
      threshold: g.threshold,
      actual: fig.value,
      display: formatFigure(fig.kind, fig.value),
      pass: compare(fig.value, g.op, g.threshold),
    };
  });
}

/** Scenario gates on a figure that a flag gates again are dropped: the flag overrides the file. */
export function mergeGates(fromScenario: readonly Gate[], fromFlags: readonly Gate[]): Gate[] {
  const overridden = new Set(fromFlags.map((g) => g.figure));
  return [...fromScenario.filter((g) => !overridden.has(g.figure)), ...fromFlags];
}

/** Figure kinds by name, from a zeroed result: the names do not depend on the values. */
const KINDS: Map<string, FigureKind> = new Map(Object.entries(figuresOf(emptyResultForNames())).map(([k, v]) => [k, v.kind]));

function emptyResultForNames(): LoadTestResult {
  const counts: DeliveryCounts = { events: 0, expected: 0, delivered: 0, missing: 0, duplicated: 0, misrouted: 0, outOfOrder: 0, late: 0, unmatched: 0 };
  const lat: LatencySummary = { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0 };
  const lag = { p50: 0, p99: 0, max: 0 };
  return {
    schemaVersion: 1,
    targets: [],
    startedServer: false,
    aborted: false,
    drainComplete: true,
    options: {} as LoadTestResult['options'],
    connections: { target: 0, opened: 0, connectErrors: 0, reconnects: 0, dropped: 0, localAddresses: 0, errorSamples: [] },
    delivery: { byType: { bug_report: counts, comment: counts, notification: counts }, total: counts, ratio: 1, firstOffenders: [] },
    latency: { broadcast: lat, notification: lat, broadcastSpread: lat, connect: lat, rest: lat, sendLag: lat, buckets: [] },
    throughput: { eventsFired: 0, eventsAccepted: 0, restErrors: 0, skipped: 0, fireRate: 0, deliveriesPerSec: 0, framesReceived: 0 },
    rateLimit: { status: 'skipped', details: [] },
    capabilities: {} as LoadTestResult['capabilities'],
    generator: { cpuPercent: 0, eventLoopLagMs: lag, threads: [], saturated: false, saturationLagMs: 100 },
    timings: { startedAt: 0, connectMs: 0, fireMs: 0, drainMs: 0, rateLimitMs: 0, totalMs: 0 },
    errors: [],
  };
}
