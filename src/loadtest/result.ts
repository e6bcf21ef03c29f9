// Result assembly: the shards' final summaries, the firer's record and the phases' outcomes become one
// LoadTestResult. The ledger summaries are merged exactly (mergeLedgerSummaries); nothing here depends
// on which shard finished first.
import type { CapabilityReport } from './capabilities.ts';
import type { Firer } from './fire.ts';
import type { HealthMonitor } from './health.ts';
import { addEncoded, createHistogram, emptySummary, histogramBuckets, recordMs, summarize } from './histogram.ts';
import { F_DELIVERED, F_DUPLICATED, F_EXPECTED, F_LATE, F_LOST_IN_GAP, F_MISROUTED, F_MISSING, OFFENCE_ORDER, PER_EVENT_FIELDS, mergeLedgerSummaries } from './ledger.ts';
import type { resolveLoadTestOptions } from './options.ts';
import { T_NOTIFICATION, TYPE_NAMES, type ShardFinal } from './shard-protocol.ts';
import type { LedgerSummary } from './ledger.ts';
import {
  LOAD_RESULT_SCHEMA_VERSION,
  type ResilienceResult,
  type CapabilityFinding,
  type CapabilityName,
  type DeliveryCounts,
  type LoadTestResult,
  type LoggedType,
  type Offender,
  type RateLimitCheck,
} from './types.ts';

export const REDACTED = '<redacted>';
const MAX_FIRST_OFFENDERS = 20;
const MAX_LISTED_OPS = 20;

function zeroCounts(): DeliveryCounts {
  return { events: 0, expected: 0, delivered: 0, missing: 0, duplicated: 0, misrouted: 0, outOfOrder: 0, late: 0, unmatched: 0, lostInGaps: 0 };
}

/** What buildResult reads of the firer: a Firer, or the merged record of a sharded run's firers. */
export type FirerRecord = Pick<
  Firer,
  | 'events'
  | 'rest'
  | 'sendLag'
  | 'fired'
  | 'accepted'
  | 'restErrors'
  | 'skipped'
  | 'answeredAfterDrain'
  | 'failedOps'
  | 'errorSamples'
  | 'startedAt'
  | 'endedAt'
  | 'inflightCount'
  | 'unansweredOps'
>;

export interface BuildInput {
  o: ReturnType<typeof resolveLoadTestOptions>;
  targets: string[];
  startedServer: boolean;
  aborted: boolean;
  drainComplete: boolean;
  /** Deliveries still owed when the drain ended. */
  drainOwed: number;
  caps: CapabilityReport;
  rateLimit: RateLimitCheck;
  firer: FirerRecord | undefined;
  finals: (ShardFinal | undefined)[];
  totalConns: number;
  health: ReturnType<HealthMonitor['sample']>;
  errors: string[];
  timings: LoadTestResult['timings'];
  deliveryWindowMs: number;
}

export function buildResult(b: BuildInput): LoadTestResult {
  const finals = b.finals.filter((f): f is ShardFinal => f !== undefined);
  const ledger = mergeLedgerSummaries(finals.map((f) => f.ledger));
  const events = b.firer?.events ?? [];
  const byType: Record<LoggedType, DeliveryCounts> = { bug_report: zeroCounts(), comment: zeroCounts(), notification: zeroCounts() };
  const spread = createHistogram();
  for (const ev of events) {
    // a sharded run numbers events across shards: a shard that fired fewer leaves holes
    if (ev === undefined) continue;
    const c = byType[TYPE_NAMES[ev.type]!];
    const off = ev.idx * PER_EVENT_FIELDS;
    const has = off < ledger.perEvent.length;
    // a misrouted notification is a leak whatever the POST's answer
    if (has) c.misrouted += ledger.perEvent[off + F_MISROUTED]!;
    // nothing is owed for a failed or unanswered POST (the rest check counts it)
    if (!ev.ok) continue;
    c.events++;
    if (!has) continue;
    c.expected += ledger.perEvent[off + F_EXPECTED]!;
    c.delivered += ledger.perEvent[off + F_DELIVERED]!;
    c.missing += ledger.perEvent[off + F_MISSING]!;
    c.duplicated += ledger.perEvent[off + F_DUPLICATED]!;
    c.late += ledger.perEvent[off + F_LATE]!;
    c.lostInGaps! += ledger.perEvent[off + F_LOST_IN_GAP]!;
    const min = ledger.firstMin[ev.idx]!;
    const max = ledger.firstMax[ev.idx]!;
    if (ev.type !== T_NOTIFICATION && min > 0) recordMs(spread, max - min);
  }
  TYPE_NAMES.forEach((name, t) => {
    byType[name].outOfOrder += ledger.outOfOrder[t] ?? 0;
    byType[name].unmatched += ledger.unmatched[t] ?? 0;
  });
  const total = zeroCounts();
  for (const c of Object.values(byType)) {
    for (const k of Object.keys(total) as (keyof DeliveryCounts)[]) total[k] = (total[k] ?? 0) + (c[k] ?? 0);
  }

  // first offenders: the ledger's order (kind, then firing order), shown by kind, then event, then
  // connection, so two runs of the same options list them alike whatever order the POSTs were answered in
  const firstOffenders: Offender[] = ledger.offenders
    .slice(0, MAX_FIRST_OFFENDERS)
    .map((off) => {
      const ev = events[off.idx];
      return {
        kind: off.kind,
        type: TYPE_NAMES[ev?.type ?? 0]!,
        event: ev ? `${ev.what}:${ev.id ?? ev.nonce}` : `#${off.idx}`,
        ...(ev ? { nonce: ev.nonce } : {}),
        count: off.count,
        connections: off.conns.map((x) => x.label),
        order: ev?.id ?? Number.MAX_SAFE_INTEGER,
        idx: off.idx,
      };
    })
    .sort(
      (x, y) =>
        OFFENCE_ORDER.indexOf(x.kind) - OFFENCE_ORDER.indexOf(y.kind) ||
        (x.type < y.type ? -1 : x.type > y.type ? 1 : 0) ||
        x.order - y.order ||
        x.idx - y.idx,
    )
    .map(({ order: _order, idx: _idx, ...o }) => o);

  const hB = createHistogram();
  const hN = createHistogram();
  const hC = createHistogram();
  const hAll = createHistogram();
  for (const f of finals) {
    addEncoded(hB, f.broadcast);
    addEncoded(hN, f.notification);
    addEncoded(hC, f.connect);
  }
  hAll.add(hB);
  hAll.add(hN);

  const threads = [
    { thread: 'main', cpuPercent: Math.round(b.health.elu * 10000) / 100, eventLoopLagMs: b.health.lagMs },
    ...(b.o.workers > 0
      ? finals.map((f, i) => ({ thread: `worker-${i}`, cpuPercent: Math.round(f.elu * 10000) / 100, eventLoopLagMs: f.lagMs }))
      : []),
  ];
  const worstLag = threads.reduce(
    (m, t) => ({ p50: Math.max(m.p50, t.eventLoopLagMs.p50), p99: Math.max(m.p99, t.eventLoopLagMs.p99), max: Math.max(m.max, t.eventLoopLagMs.max) }),
    { p50: 0, p99: 0, max: 0 },
  );
  const firer = b.firer;
  const fireSecs = firer && firer.endedAt > firer.startedAt ? (firer.endedAt - firer.startedAt) / 1000 : 0;
  const capabilities = { ...b.caps.capabilities } as Record<CapabilityName, CapabilityFinding>;
  const sawSeq = finals.some((f) => f.sawSeq);
  if (capabilities.seq.status === 'unknown' && sawSeq) capabilities.seq = { status: 'supported', detail: 'events carried seq during the run' };

  return {
    schemaVersion: LOAD_RESULT_SCHEMA_VERSION,
    targets: b.targets,
    startedServer: b.startedServer,
    aborted: b.aborted,
    drainComplete: b.drainComplete,
    drainOwed: b.drainOwed,
    // reports get written to CI artifacts: never the JWT secret
    options: { ...b.o, secret: REDACTED },
    connections: {
      target: b.totalConns,
      opened: ledger.opened,
      connectErrors: ledger.connectErrors,
      reconnects: ledger.reconnects,
      dropped: ledger.dropped,
      localAddresses: new Set(finals.flatMap((f) => f.localAddresses)).size,
      errorSamples: finals.flatMap((f) => f.errorSamples).slice(0, 5),
    },
    delivery: {
      byType,
      total,
      ratio: total.expected === 0 ? 1 : total.delivered / total.expected,
      firstOffenders,
    },
    latency: {
      broadcast: summarize(hB),
      notification: summarize(hN),
      broadcastSpread: summarize(spread),
      connect: summarize(hC),
      rest: firer ? summarize(firer.rest) : emptySummary(),
      sendLag: firer ? summarize(firer.sendLag) : emptySummary(),
      buckets: histogramBuckets(hAll),
      ...(b.o.slow !== undefined ? { slow: slowLatencyOf(finals) } : {}),
    },
    throughput: {
      eventsFired: firer?.fired ?? 0,
      eventsAccepted: firer?.accepted ?? 0,
      restErrors: firer?.restErrors ?? 0,
      restUnanswered: firer?.inflightCount() ?? 0,
      restUnansweredOps: firer?.unansweredOps(MAX_LISTED_OPS) ?? [],
      restFailedOps: firer?.failedOps.slice(0, MAX_LISTED_OPS) ?? [],
      restAnsweredLate: firer?.answeredAfterDrain ?? 0,
      skipped: firer?.skipped ?? 0,
      fireRate: fireSecs > 0 ? Math.round(((firer?.fired ?? 0) / fireSecs) * 100) / 100 : 0,
      deliveriesPerSec: b.deliveryWindowMs > 0 ? Math.round(total.delivered / (b.deliveryWindowMs / 1000)) : 0,
      framesReceived: finals.reduce((s, f) => s + f.frames, 0),
    },
    rateLimit: b.rateLimit,
    capabilities,
    generator: {
      cpuPercent: b.health.cpuPercent,
      eventLoopLagMs: worstLag,
      threads,
      saturated: worstLag.p99 > b.o.saturationLagMs,
      saturationLagMs: b.o.saturationLagMs,
    },
    ...(b.o.churn !== undefined || b.o.storms !== undefined || b.o.tokenTtlMs !== undefined || b.o.slow !== undefined ? { resilience: resilienceOf(b.o, finals, ledger, total.lostInGaps ?? 0) } : {}),
    timings: b.timings,
    errors: [...b.errors, ...(firer?.errorSamples ?? [])].slice(0, 20),
  };
}


/** --slow: the receipts at the paused connections, merged. */
function slowLatencyOf(finals: ShardFinal[]): ReturnType<typeof summarize> {
  const h = createHistogram();
  for (const f of finals) if (f.resilience?.slow) addEncoded(h, f.resilience.slow.latency);
  const out = summarize(h);
  h.destroy();
  return out;
}

/** The shards' records of cuts, reconnects and resumes, and the ledger's events lost in gaps (R9). */
function resilienceOf(o: BuildInput['o'], finals: ShardFinal[], ledger: LedgerSummary, lostInGaps: number): ResilienceResult {
  const hR = createHistogram();
  const hS = createHistogram();
  const storms = (o.storms ?? []).map((s) => ({ atMs: s.atMs, percent: s.percent, cut: 0, back: 0, allBackMs: 0 as number | null, resumed: 0, allResumedMs: 0 as number | null }));
  const out: ResilienceResult = {
    seed: o.seed ?? 0,
    cuts: 0,
    churnCuts: 0,
    stormCuts: 0,
    storms,
    reconnects: ledger.reconnects,
    reconnectMs: emptySummary(),
    resumeMs: emptySummary(),
    replayed: 0,
    gaveUp: 0,
    slowConsumerCloses: 0,
    tokenRefreshes: 0,
    tokenRefreshedConnections: 0,
    reconnectingAtEnd: 0,
    lostInGaps,
    lostInGapsConnections: ledger.gapLossConnCount,
    lostInGapsByConnection: ledger.gapLossConns.map((x) => ({ connection: x.label, count: x.count })),
  };
  const slow = o.slow ? { percent: o.slow.percent, durationMs: o.slow.durationMs ?? null, paused: 0, closed4008: 0, closedOther: 0, cut: 0, notClosed: 0, back: 0 } : undefined;
  if (slow) out.slow = slow;
  for (const f of finals) {
    const r = f.resilience;
    if (!r) continue;
    if (slow && r.slow) {
      slow.paused += r.slow.paused;
      slow.closed4008 += r.slow.closed4008;
      slow.closedOther += r.slow.closedOther;
      slow.back += r.slow.back;
      slow.cut += r.slow.cut ?? 0;
    }
    out.churnCuts += r.churnCuts;
    out.stormCuts += r.stormCuts;
    out.replayed += r.replayed;
    out.gaveUp += r.gaveUp;
    out.slowConsumerCloses += r.slowConsumerCloses;
    out.tokenRefreshes += r.tokenRefreshes;
    out.tokenRefreshedConnections += r.tokenRefreshedConnections ?? 0;
    out.reconnectingAtEnd += r.reconnectingAtEnd;
    addEncoded(hR, r.reconnect);
    addEncoded(hS, r.resume);
    r.storms.forEach((s, i) => {
      const m = storms[i];
      if (!m) return;
      m.cut += s.cut;
      m.back += s.back;
      m.resumed += s.resumed;
      m.allBackMs = Math.max(m.allBackMs ?? 0, s.maxBackMs);
      m.allResumedMs = Math.max(m.allResumedMs ?? 0, s.maxResumedMs);
    });
  }
  // not all back (or none resumed with a replay): no time to give
  for (const m of storms) {
    if (m.back < m.cut) m.allBackMs = null;
    if (m.resumed === 0) m.allResumedMs = null;
  }
  if (slow) slow.notClosed = slow.paused - slow.closed4008 - slow.closedOther - slow.cut;
  out.cuts = out.churnCuts + out.stormCuts;
  out.reconnectMs = summarize(hR);
  out.resumeMs = summarize(hS);
  hR.destroy();
  hS.destroy();
  return out;
}
