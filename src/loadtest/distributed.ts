// A sharded load run: shard K of N of one run, coordinated through Redis (coordinator.ts). runLoadTest
// calls in here at a few points (after the capability probe, after connecting, at the end of the fire,
// at the end); everything else is the single-process run on this shard's share of the work.
//
// Who owes what across machines: each shard feeds its local ledger the events fired by every shard.
// Against a server with seq, the final figures come from log order (ledger.ts R10): every shard's
// connections open before the connected barrier and every event is fired after it, so each connection's
// initial cursor precedes every event of the run; a connection owes every event of its audience except
// those it missed in a gap (given up, resume refused, lost without resume) that the order of receipts
// places after its last receipt before the gap and before its first one after it. No clock is compared.
// Without seq (and for the live figures that drive the drain), times: its own events are registered
// before their POST leaves, as on one process. Another shard's event is
// registered when its registration arrives through Redis, back-dated by a margin (`marginMs`) but never
// to before this shard reached the connected barrier (every remote event was registered after that: its
// shard had passed the barrier, which needs this shard to have arrived). Its answer counts from when the
// answer arrives. So the window in which a connection must have stayed up only ever widens, and a
// connection is never owed an event it could not have had, as long as a registration takes less than the
// margin to arrive; the report states the rule, the margin and the worst stream lag seen.
// Latency is measured only where sender and receiver share a clock: a shard's own events at its own
// connections (remote events carry no send time; their deliveries count, their latency does not).
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { BugzappError } from '../errors.ts';
import { Coordinator, ShardMissingError, type StreamEntry } from './coordinator.ts';
import { now } from './clock.ts';
import type { FireSink, Firer, FiredEvent } from './fire.ts';
import { addEncoded, createHistogram, encodeHistogram, type Histogram } from './histogram.ts';
import { F_DELIVERED, F_LOST_IN_GAP, PER_EVENT_FIELDS, type LedgerSummary } from './ledger.ts';
import { buildResult, REDACTED, type BuildInput, type FirerRecord } from './result.ts';
import type { ShardFinal, ToShard } from './shard-protocol.ts';
import { buildTimeline, type TimelinePart } from './timeline.ts';
import { DEFAULT_MARGIN_MS, DEFAULT_SHARD_WAIT_MS, globalIdx, shareOf, type DistributedOptions } from './shard-plan.ts';
import type { DistributionInfo, LoadProgressEvent, LoadTestResult, ShardEntry } from './types.ts';

export { DEFAULT_MARGIN_MS, DEFAULT_SHARD_WAIT_MS, globalIdx, parseShardSpec, shareOf, type DistributedOptions } from './shard-plan.ts';

interface FirerPart {
  events: FiredEvent[];
  rest: string;
  sendLag: string;
  fired: number;
  accepted: number;
  restErrors: number;
  skipped: number;
  inflight: number;
  unansweredOps: number[];
  failedOps: number[];
  answeredAfterDrain: number;
  errorSamples: string[];
  startedAt: number;
  endedAt: number;
}

interface SerialFinal extends Omit<ShardFinal, 'ledger'> {
  ledger: Omit<LedgerSummary, 'perEvent' | 'firstMin' | 'firstMax'> & { perEvent: number[]; firstMin: number[]; firstMax: number[] };
}

/** What each shard publishes at the end: its inputs to buildResult, serialisable. */
interface Partial {
  shard: number;
  host: string;
  input: Omit<BuildInput, 'firer' | 'finals'> & { firer: FirerPart | undefined; finals: SerialFinal[] };
  timeline: TimelinePart[];
  timelineTo: number;
  maxStreamLagMs: number;
  generator: { cpuPercent: number; lagP99: number; saturated: boolean };
  /** The rule its ledger judged by (absent from an older shard: the margin). */
  eligibility?: Eligibility;
}

type Eligibility = DistributionInfo['eligibility'];

export class DistributedRun {
  readonly k: number;
  readonly n: number;
  readonly waitMs: number;
  readonly marginMs: number;
  /** Prefix of every nonce of the run (all shards); a shard's own nonces add `k<K>`. */
  readonly runTag: string;
  readonly fireTag: string;
  private readonly d: DistributedOptions;
  private readonly coord: Coordinator;
  private readonly signal: AbortSignal | undefined;
  private connectedAt = 0;
  private readonly doneSeen = new Set<number>();
  private doneWaiter: (() => void) | undefined;
  private clockOffsetMs = 0;
  private maxStreamLagMs = 0;
  private mode: Eligibility = 'remote-arrival-margin';
  private totalsTimer: NodeJS.Timeout | undefined;
  private totalsBusy = false;

  private constructor(d: DistributedOptions, signal: AbortSignal | undefined) {
    this.d = d;
    this.k = d.shard;
    this.n = d.shards;
    this.waitMs = d.shardWaitMs ?? DEFAULT_SHARD_WAIT_MS;
    this.marginMs = d.marginMs ?? DEFAULT_MARGIN_MS;
    this.runTag = `d${createHash('sha256').update(d.runId).digest('hex').slice(0, 8)}`;
    this.fireTag = `${this.runTag}k${this.k}`;
    this.coord = new Coordinator({ url: d.coordinator, runId: d.runId, shard: d.shard, shards: d.shards });
    this.signal = signal;
  }

  /** Connects to the coordinator, registers this shard and waits until all N have registered. */
  static async join(d: DistributedOptions, signal: AbortSignal | undefined): Promise<DistributedRun> {
    const run = new DistributedRun(d, signal);
    try {
      await run.coord.connect();
      run.clockOffsetMs = await run.coord.clockOffsetMs();
      await run.coord.barrier('registered', 'register', hostname(), run.waitMs, signal);
    } catch (err) {
      await run.close();
      throw err;
    }
    return run;
  }

  /** The eligibility rule of this shard's ledger: log order when the server has seq (R10), else times. */
  eligibility(serverHasSeq: boolean): 'seq' | 'time' {
    this.mode = serverHasSeq ? 'seq-log-order' : 'remote-arrival-margin';
    return serverHasSeq ? 'seq' : 'time';
  }

  ownsUser(userIndex: number): boolean {
    return userIndex % this.n === this.k - 1;
  }

  share(total: number): number {
    return shareOf(total, this.k, this.n);
  }

  /** Feeds every other shard's events and answers to this process's shards, as they arrive. */
  startFeeding(post: (msg: ToShard) => void): void {
    this.coord.startReading((e: StreamEntry, entryMs: number) => {
      const lag = Date.now() + this.clockOffsetMs - entryMs;
      if (lag > this.maxStreamLagMs) this.maxStreamLagMs = lag;
      if (e.t === 'd') {
        this.doneSeen.add(e.k);
        this.doneWaiter?.();
        return;
      }
      if (e.k === this.k) return;
      const at = now();
      if (e.t === 'e') {
        post({ t: 'event', idx: e.idx, key: e.key, type: e.type, target: e.target, sentAt: NaN, registeredAt: Math.max(at - this.marginMs, this.connectedAt) });
      } else {
        post({ t: 'ack', idx: e.idx, ok: e.ok, respondedAt: at, ...(e.alias !== undefined ? { alias: e.alias } : {}) });
      }
    });
  }

  /**
   * The run's totals for the dashboard, every `everyMs` (one Redis round trip each, skipped while the last
   * is out): this shard writes its own live figures (operations fired, connections, deliveries) and reads
   * every shard's; shards done come from the stream this shard reads anyway.
   */
  startRunTotals(
    own: () => { opened: number; fired: number; delivered: number; expected: number },
    target: number,
    emit: (e: LoadProgressEvent) => void,
    everyMs: number,
  ): void {
    const tick = (): void => {
      if (this.totalsBusy) return;
      this.totalsBusy = true;
      const mine = own();
      this.coord
        .progress(JSON.stringify(mine), 'connected')
        .then(({ figures, atBarrier }) => {
          let opened = 0;
          let fired = 0;
          let delivered = 0;
          let expected = 0;
          for (const [k, json] of figures) {
            const f = k === this.k ? mine : (JSON.parse(json) as typeof mine);
            opened += f.opened;
            fired += f.fired;
            delivered += f.delivered;
            expected += f.expected;
          }
          emit({
            kind: 'run',
            shard: this.k,
            shards: this.n,
            shardsConnected: atBarrier,
            shardsDone: this.doneSeen.size,
            opened,
            fired,
            target,
            delivered,
            expected,
          });
        })
        // the dashboard's totals are best effort: a failed read shows at the next one
        .catch(() => undefined)
        .finally(() => {
          this.totalsBusy = false;
        });
    };
    this.totalsTimer = setInterval(tick, Math.max(1000, everyMs));
    this.totalsTimer.unref?.();
  }

  stopRunTotals(): void {
    if (this.totalsTimer) clearInterval(this.totalsTimer);
    this.totalsTimer = undefined;
  }

  /** This shard's firer sink: global event numbers, and every registration and answer published. */
  wrapSink(local: FireSink): FireSink {
    return {
      register: (ev) => {
        const idx = globalIdx(ev.idx, this.k, this.n);
        this.coord.publish({ t: 'e', k: this.k, idx, key: ev.key, type: ev.type, target: ev.target });
        local.register({ ...ev, idx });
      },
      ack: (ev) => {
        const idx = globalIdx(ev.idx, this.k, this.n);
        local.ack({ ...ev, idx });
        this.coord.publish({ t: 'a', k: this.k, idx, ok: ev.ok, ...(ev.alias !== undefined ? { alias: ev.alias } : {}) });
      },
    };
  }

  /** Every shard's connections are open: arrive at the barrier and wait (the fire starts together). */
  async connected(): Promise<void> {
    this.connectedAt = now();
    await this.coord.barrier('connected', 'open its connections', String(this.k), this.waitMs, this.signal);
  }

  /**
   * This shard fired everything (answers in, or the drain timeout passed): marks its end in the stream,
   * then waits until every shard's end has arrived here, so every event of the run reached the ledger.
   */
  async fireDone(firer: Firer, drainTimeoutMs: number): Promise<void> {
    await Promise.race([firer.idle(), new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
    this.coord.publish({ t: 'd', k: this.k, events: firer.events.length });
    await this.coord.flush();
    const deadline = Date.now() + this.waitMs;
    while (this.doneSeen.size < this.n) {
      const left = deadline - Date.now();
      if (left <= 0 || this.signal?.aborted) {
        const missing = [];
        for (let k = 1; k <= this.n; k++) if (!this.doneSeen.has(k)) missing.push(k);
        throw new ShardMissingError('finish firing', missing, this.waitMs);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        this.doneWaiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.doneWaiter = undefined;
    }
  }

  /**
   * Publishes this shard's part, waits for every shard's, and merges them all into one result, the
   * same on every shard (the parts sorted by shard; the merge is exact).
   */
  async finish(input: BuildInput, timeline: TimelinePart[], timelineTo: number, local: { cpuPercent: number; lagP99: number; saturated: boolean }): Promise<LoadTestResult> {
    const f = input.firer;
    const own: Partial = {
      shard: this.k,
      host: hostname(),
      input: {
        ...input,
        // what goes through Redis never carries the JWT secret
        o: { ...input.o, secret: REDACTED },
        firer: f
          ? {
              events: f.events.map((ev) => ({ ...ev, idx: globalIdx(ev.idx, this.k, this.n) })),
              rest: encodeHistogram(f.rest),
              sendLag: encodeHistogram(f.sendLag),
              fired: f.fired,
              accepted: f.accepted,
              restErrors: f.restErrors,
              skipped: f.skipped,
              inflight: f.inflightCount(),
              unansweredOps: f.unansweredOps(20).map((op) => globalIdx(op - 1, this.k, this.n) + 1),
              failedOps: f.failedOps.slice(0, 20).map((op) => globalIdx(op - 1, this.k, this.n) + 1),
              answeredAfterDrain: f.answeredAfterDrain,
              errorSamples: f.errorSamples.map((e) => `shard ${this.k}: ${e}`),
              startedAt: f.startedAt,
              endedAt: f.endedAt,
            }
          : undefined,
        finals: input.finals.filter((x): x is ShardFinal => x !== undefined).map(serialFinal),
      },
      timeline,
      timelineTo,
      maxStreamLagMs: Math.round(this.maxStreamLagMs),
      generator: local,
      eligibility: this.mode,
    };
    await this.coord.putPartial(JSON.stringify(own));
    const all = await this.coord.allPartials(this.waitMs, this.signal);
    const parts = [...all.entries()].sort((a, b) => a[0] - b[0]).map(([, json]) => JSON.parse(json) as Partial);
    return mergePartials(parts, this.marginMs);
  }

  async close(): Promise<void> {
    this.stopRunTotals();
    await this.coord.close().catch(() => undefined);
  }
}

function serialFinal(f: ShardFinal): SerialFinal {
  return { ...f, ledger: { ...f.ledger, perEvent: Array.from(f.ledger.perEvent), firstMin: Array.from(f.ledger.firstMin), firstMax: Array.from(f.ledger.firstMax) } };
}

function reviveFinal(f: SerialFinal): ShardFinal {
  return {
    ...f,
    ledger: { ...f.ledger, perEvent: Int32Array.from(f.ledger.perEvent), firstMin: Float64Array.from(f.ledger.firstMin), firstMax: Float64Array.from(f.ledger.firstMax) },
  };
}

function histogramOf(encoded: string[]): Histogram {
  const h = createHistogram();
  for (const e of encoded) addEncoded(h, e);
  return h;
}

/** One shard's cuts and what came of them, from its threads' finals. */
function shardResilience(finals: ShardFinal[]): NonNullable<ShardEntry['resilience']> {
  const out = { cuts: 0, churnCuts: 0, stormCuts: 0, stormCutsEach: [] as number[], reconnects: 0, replayed: 0, gaveUp: 0, lostInGaps: 0 };
  for (const f of finals) {
    out.reconnects += f.ledger.reconnects;
    for (let k = F_LOST_IN_GAP; k < f.ledger.perEvent.length; k += PER_EVENT_FIELDS) out.lostInGaps += f.ledger.perEvent[k]!;
    const r = f.resilience;
    if (!r) continue;
    out.churnCuts += r.churnCuts;
    out.stormCuts += r.stormCuts;
    out.replayed += r.replayed;
    out.gaveUp += r.gaveUp;
    r.storms.forEach((s, i) => (out.stormCutsEach[i] = (out.stormCutsEach[i] ?? 0) + s.cut));
  }
  out.cuts = out.churnCuts + out.stormCuts;
  return out;
}

/** Merges every shard's part (sorted by shard) into the run's one result. Pure of the order given. */
export function mergePartials(parts: Partial[], marginMs: number): LoadTestResult {
  const first = parts[0];
  if (!first) throw new BugzappError('ERR_LOADTEST_SHARD', 'no shard reported');
  const firers = parts.flatMap((p) => (p.input.firer ? [p.input.firer] : []));
  const events: FiredEvent[] = [];
  for (const fp of firers) for (const ev of fp.events) events[ev.idx] = ev;
  const sum = (g: (x: FirerPart) => number): number => firers.reduce((s, x) => s + g(x), 0);
  const inflight = sum((x) => x.inflight);
  const firer: FirerRecord | undefined =
    firers.length === 0
      ? undefined
      : {
          events,
          rest: histogramOf(firers.map((x) => x.rest)),
          sendLag: histogramOf(firers.map((x) => x.sendLag)),
          fired: sum((x) => x.fired),
          accepted: sum((x) => x.accepted),
          restErrors: sum((x) => x.restErrors),
          skipped: sum((x) => x.skipped),
          answeredAfterDrain: sum((x) => x.answeredAfterDrain),
          failedOps: firers.flatMap((x) => x.failedOps).sort((a, b) => a - b),
          errorSamples: firers.flatMap((x) => x.errorSamples),
          startedAt: Math.min(...firers.map((x) => x.startedAt)),
          endedAt: Math.max(...firers.map((x) => x.endedAt)),
          inflightCount: () => inflight,
          unansweredOps: (max: number) => firers.flatMap((x) => x.unansweredOps).sort((a, b) => a - b).slice(0, max),
        };
  const finalsByShard = parts.map((p) => p.input.finals.map(reviveFinal));
  const inputs = parts.map((p) => p.input);
  const maxOf = (g: (t: LoadTestResult['timings']) => number): number => Math.max(...inputs.map((i) => g(i.timings)));
  const merged = buildResult({
    ...first.input,
    aborted: inputs.some((i) => i.aborted),
    drainComplete: inputs.every((i) => i.drainComplete),
    drainOwed: inputs.reduce((s, i) => s + i.drainOwed, 0),
    rateLimit: first.input.rateLimit,
    firer,
    finals: finalsByShard.flat(),
    totalConns: inputs.reduce((s, i) => s + i.totalConns, 0),
    errors: parts.flatMap((p) => p.input.errors.map((e) => `shard ${p.shard}: ${e}`)),
    timings: {
      startedAt: Math.min(...inputs.map((i) => i.timings.startedAt)),
      connectMs: maxOf((t) => t.connectMs),
      fireMs: maxOf((t) => t.fireMs),
      drainMs: maxOf((t) => t.drainMs),
      rateLimitMs: maxOf((t) => t.rateLimitMs),
      totalMs: maxOf((t) => t.totalMs),
    },
    deliveryWindowMs: Math.max(...inputs.map((i) => i.deliveryWindowMs)),
  });
  // the generator: every shard's threads; one saturated shard makes the whole run invalid
  const threads = parts.flatMap((p) => {
    const r = p.generator;
    return [{ thread: `shard-${p.shard}`, cpuPercent: r.cpuPercent, eventLoopLagMs: { p50: 0, p99: r.lagP99, max: r.lagP99 } }];
  });
  const worst = Math.max(...parts.map((p) => p.generator.lagP99));
  merged.generator = {
    ...merged.generator,
    cpuPercent: Math.max(...parts.map((p) => p.generator.cpuPercent)),
    eventLoopLagMs: { ...merged.generator.eventLoopLagMs, p99: Math.max(merged.generator.eventLoopLagMs.p99, worst) },
    threads: [...threads],
    saturated: parts.some((p) => p.generator.saturated),
  };
  const shards: ShardEntry[] = parts.map((p, i) => {
    const finals = finalsByShard[i]!;
    let delivered = 0;
    for (const f of finals) for (let k = F_DELIVERED; k < f.ledger.perEvent.length; k += PER_EVENT_FIELDS) delivered += f.ledger.perEvent[k]!;
    return {
      shard: p.shard,
      host: p.host,
      connections: finals.reduce((s, f) => s + f.ledger.opened, 0),
      eventsFired: p.input.firer?.fired ?? 0,
      delivered,
      eventLoopLagP99Ms: p.generator.lagP99,
      cpuPercent: p.generator.cpuPercent,
      saturated: p.generator.saturated,
      maxStreamLagMs: p.maxStreamLagMs,
      ...(merged.resilience ? { resilience: shardResilience(finals) } : {}),
    };
  });
  merged.shards = shards;
  // every shard judged by log order only when the server had seq for all of them
  const bySeq = parts.every((p) => p.eligibility === 'seq-log-order');
  const maxStreamLagMs = Math.max(...parts.map((p) => p.maxStreamLagMs));
  merged.distribution = {
    shards: parts.length,
    eligibility: bySeq ? 'seq-log-order' : 'remote-arrival-margin',
    marginMs,
    maxStreamLagMs,
    rule: bySeq
      ? "the server has seq: every connection opened before the first event (its cursor precedes the run), so it owes every event of its audience but those it did not receive in a gap (given up, resume refused, lost without resume) that the order of its shard's receipts places after its last receipt before the gap and before its first after it; no clock compared. The margin only paces the live figures; latency only where sender and receiver share a clock"
      : "no seq: a shard's own events are registered before their POST; another shard's event when its registration arrives through Redis, back-dated by the margin (never before the connected barrier), answered when its answer arrives: correct as long as a registration arrives within the margin; latency only where sender and receiver share a clock",
  };
  if (!bySeq && maxStreamLagMs > marginMs) {
    merged.errors = [...merged.errors, `a registration took ${maxStreamLagMs} ms through Redis, more than the ${marginMs} ms margin`].slice(0, 20);
  }
  try {
    merged.timeline = buildTimeline(
      parts.flatMap((p) => p.timeline.map((t) => ({ ...t, origin: 0 }))),
      { from: 0, to: Math.max(...parts.map((p) => p.timelineTo)) },
    );
  } catch {
    // a timeline too long to keep is left out, as on one process
  }
  return merged;
}
