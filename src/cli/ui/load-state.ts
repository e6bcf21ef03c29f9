// The live state of `bugzapp load`, advanced by progress events and finished by the report. The Ink
// dashboard and the plain progress lines on stderr are both renderings of this one object.
import type { LoadReport } from '../../loadtest/report-json.ts';
import type { LoadPhase, LoadProgressEvent } from '../../loadtest/types.ts';

export interface LoadViewState {
  phase: LoadPhase;
  /** The reference server bugzapp started, when it did. */
  server: string | undefined;
  targets: string[];
  scenario: string | undefined;
  connect: { opened: number; target: number; errors: number };
  /** Runs with churn or storms: connections cut so far, reconnecting now, reopened so far. */
  churn: { cuts: number; reconnecting: number; reconnects: number; paused?: number } | undefined;
  fire: { fired: number; target: number; accepted: number; restErrors: number };
  delivery: {
    delivered: number;
    expected: number;
    duplicated: number;
    misrouted: number;
    latency: { p50: number; p90: number; p99: number; max: number; count: number };
  };
  generator: { eventLoopLagMs: { p50: number; p99: number; max: number }; cpuPercent: number } | undefined;
  saturationLagMs: number;
  /** The newest harness errors, oldest first. */
  errors: string[];
  errorCount: number;
  /** The last minute, one sample a second, oldest first: deliveries per second and their p99 (null: none). */
  seconds: { deliveriesPerSec: number; p99Ms: number | null }[];
  /** A sharded run: the whole run's totals from the coordinator (the figures above are this shard's). */
  run: Omit<Extract<LoadProgressEvent, { kind: 'run' }>, 'kind'> | undefined;
  /** Set once the run is over: the dashboard then shows the verdict. */
  report: LoadReport | undefined;
}

const KEEP_ERRORS = 3;
/** The sparklines show the last minute. */
export const KEEP_SECONDS = 60;

export function initialLoadState(plan: {
  connections: number;
  events: number;
  targets: string[];
  saturationLagMs: number;
  scenario?: string | undefined;
}): LoadViewState {
  return {
    phase: 'starting',
    server: undefined,
    targets: plan.targets,
    scenario: plan.scenario,
    connect: { opened: 0, target: plan.connections, errors: 0 },
    churn: undefined,
    fire: { fired: 0, target: plan.events, accepted: 0, restErrors: 0 },
    delivery: { delivered: 0, expected: 0, duplicated: 0, misrouted: 0, latency: { p50: 0, p90: 0, p99: 0, max: 0, count: 0 } },
    generator: undefined,
    saturationLagMs: plan.saturationLagMs,
    errors: [],
    errorCount: 0,
    seconds: [],
    run: undefined,
    report: undefined,
  };
}

export function reduceLoadProgress(s: LoadViewState, e: LoadProgressEvent): LoadViewState {
  switch (e.kind) {
    case 'phase':
      return { ...s, phase: e.phase };
    case 'server':
      return { ...s, server: e.url, targets: [e.url] };
    case 'connect':
      return { ...s, connect: { opened: e.opened, target: e.target, errors: e.errors } };
    case 'churn':
      return { ...s, churn: { cuts: e.cuts, reconnecting: e.reconnecting, reconnects: e.reconnects, ...(e.paused !== undefined ? { paused: e.paused } : {}) } };
    case 'fire':
      return { ...s, fire: { fired: e.fired, target: e.target, accepted: e.accepted, restErrors: e.restErrors } };
    case 'delivery':
      return {
        ...s,
        delivery: { delivered: e.delivered, expected: e.expected, duplicated: e.duplicated, misrouted: e.misrouted, latency: { ...e.latency } },
      };
    case 'generator':
      return { ...s, generator: { eventLoopLagMs: { ...e.eventLoopLagMs }, cpuPercent: e.cpuPercent } };
    case 'error':
      return { ...s, errors: [...s.errors, e.message].slice(-KEEP_ERRORS), errorCount: s.errorCount + 1 };
    case 'second':
      return { ...s, seconds: [...s.seconds, { deliveriesPerSec: e.deliveriesPerSec, p99Ms: e.p99Ms }].slice(-KEEP_SECONDS) };
    case 'run': {
      const { kind: _kind, ...run } = e;
      return { ...s, run };
    }
  }
}

/** The run is over: figures come from the report from now on. */
export function withReport(s: LoadViewState, report: LoadReport): LoadViewState {
  const d = report.delivery.total;
  return {
    ...s,
    phase: 'done',
    targets: report.targets,
    report,
    connect: { opened: report.connections.opened, target: report.connections.target, errors: report.connections.connectErrors },
    fire: { ...s.fire, fired: report.throughput.eventsFired, accepted: report.throughput.eventsAccepted, restErrors: report.throughput.restErrors },
    delivery: { ...s.delivery, delivered: d.delivered, expected: d.expected, duplicated: d.duplicated, misrouted: d.misrouted },
    generator: { eventLoopLagMs: report.generator.eventLoopLagMs, cpuPercent: report.generator.cpuPercent },
  };
}

/** `12.3ms`, `0.412ms`, `1530ms`. */
export function formatLatency(ms: number): string {
  if (ms >= 100) return `${Math.round(ms)}ms`;
  if (ms >= 10) return `${Math.round(ms * 10) / 10}ms`;
  return `${Math.round(ms * 1000) / 1000}ms`;
}

export function deliveredPercent(delivered: number, expected: number): string {
  if (expected === 0) return '-';
  const p = (delivered * 100) / expected;
  return `${p >= 100 ? 100 : p.toFixed(1)}%`;
}

/** One plain status line for stderr (not a terminal, or --json). */
export function formatProgressLine(s: LoadViewState): string {
  const parts = [
    `connections ${s.connect.opened}/${s.connect.target}${s.connect.errors ? ` (${s.connect.errors} errors)` : ''}`,
    `fired ${s.fire.fired}/${s.fire.target}${s.fire.restErrors ? ` (${s.fire.restErrors} REST errors)` : ''}`,
    `delivered ${s.delivery.delivered}/${s.delivery.expected}`,
  ];
  if (s.churn) parts.splice(1, 0, `${s.churn.reconnecting} reconnecting (${s.churn.cuts} cut${s.churn.paused !== undefined ? `, ${s.churn.paused} paused` : ''})`);
  if (s.delivery.duplicated) parts.push(`${s.delivery.duplicated} duplicated`);
  if (s.delivery.misrouted) parts.push(`${s.delivery.misrouted} misrouted`);
  if (s.delivery.latency.count) parts.push(`p99 ${formatLatency(s.delivery.latency.p99)}`);
  if (s.generator) parts.push(`lag p99 ${formatLatency(s.generator.eventLoopLagMs.p99)}`);
  if (s.run) parts.push(`run (shard ${runTotalsText(s.run)})`);
  return `load: [${s.phase}] ${parts.join(', ')}`;
}

/** `2/3: 3/3 shards connected, 30 connections, fired 27/30, delivered 540/540, 1/3 shards done`. */
export function runTotalsText(r: NonNullable<LoadViewState['run']>): string {
  return (
    `${r.shard}/${r.shards}: ${r.shardsConnected}/${r.shards} shards connected, ${r.opened} connections, fired ${r.fired}/${r.target}, ` +
    `delivered ${r.delivered}/${r.expected}, ${r.shardsDone}/${r.shards} shards done`
  );
}

/**
 * Plain progress for stderr: every phase change, server start and error at once; figures at most once
 * per `everyMs` (clock injected for tests), and once more when a phase ends.
 */
export function createProgressPrinter(write: (line: string) => void, initial: LoadViewState, opts: { everyMs?: number; now?: () => number } = {}) {
  const everyMs = opts.everyMs ?? 1000;
  const now = opts.now ?? Date.now;
  let state = initial;
  let last = -Infinity;
  let lastLine = '';
  let dirty = false;
  const print = (line: string): void => {
    // the same figures twice in a row say nothing new
    if (line !== lastLine) write(`${line}\n`);
    lastLine = line;
  };
  return {
    get state(): LoadViewState {
      return state;
    },
    onProgress(e: LoadProgressEvent): void {
      const before = state;
      state = reduceLoadProgress(state, e);
      switch (e.kind) {
        case 'phase':
          if (dirty) print(formatProgressLine({ ...state, phase: before.phase }));
          lastLine = '';
          dirty = false;
          write(`load: phase ${e.phase}\n`);
          return;
        case 'server':
          write(`load: started the reference server at ${e.url}\n`);
          return;
        case 'error':
          write(`load: error: ${e.message}\n`);
          return;
        default:
          dirty = true;
          // connect, fire and delivery come as one batch per tick, delivery among the last: print on it
          if (e.kind === 'delivery' && now() - last >= everyMs) {
            last = now();
            dirty = false;
            print(formatProgressLine(state));
          }
      }
    },
  };
}
