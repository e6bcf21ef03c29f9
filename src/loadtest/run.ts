// runLoadTest: connect (ramped), fire (open arrival rate), drain, rate-limit probe, result. The library
// never prints: callers get typed progress events and one LoadTestResult, also when aborted.
import { randomBytes } from 'node:crypto';
import { BugzappError, InvalidOptionError } from '../errors.ts';
import { mintTokenSync } from '../protocol/index.ts';
import { resolveWsUrl } from '../client/index.ts';
import { probeCapabilities, type CapabilityReport } from './capabilities.ts';
import { now } from './clock.ts';
import { Firer, type FireSink } from './fire.ts';
import { HealthMonitor } from './health.ts';
import { addEncoded, createHistogram, summarize } from './histogram.ts';
import { plannedEvents, resolveLoadTestOptions } from './options.ts';
import { probeRateLimit } from './rate-limit.ts';
import { buildResult, type BuildInput } from './result.ts';
import type { DistributedRun } from './distributed.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';
import { startShard, type ShardHost } from './shard-host.ts';
import { buildTimeline, LiveSeconds, secondOf, TimelineRecorder } from './timeline.ts';
import type { FromShard, ShardConnSpec, ShardFinal, ShardProgress, ToShard } from './shard-protocol.ts';
import type { LoadPhase, LoadProgressEvent, LoadTestInput, LoadTestResult, RateLimitCheck, RunLoadTestContext } from './types.ts';

export { REDACTED } from './result.ts';

const NONCE_MARK = '~';

/** A worker thread holding connections crashed: the run cannot be judged (the CLI exits 2). */
export class ShardCrashError extends BugzappError {
  readonly workerStack: string | undefined;
  constructor(message: string, stack: string | undefined) {
    super('ERR_LOADTEST_WORKER', message);
    this.workerStack = stack;
  }
}

/** Resolves when `p` settles, when `ms` passes, or when the signal aborts; says which. */
function race<T>(p: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<'done' | 'timeout' | 'aborted'> {
  if (signal?.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish('timeout'), ms);
    const onAbort = (): void => finish('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (r: 'done' | 'timeout' | 'aborted'): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    p.then(
      () => finish('done'),
      () => finish('done'),
    );
  });
}

export async function runLoadTest(input: LoadTestInput, ctx: RunLoadTestContext = {}): Promise<LoadTestResult> {
  const o = resolveLoadTestOptions(input);
  const signal = ctx.signal;
  const emit = (e: LoadProgressEvent): void => {
    try {
      ctx.onProgress?.(e);
    } catch {
      // a throwing listener must not break the run
    }
  };
  const phaseAt: Partial<Record<LoadPhase, number>> = {};
  const phase = (p: LoadPhase): void => {
    phaseAt[p] = now();
    emit({ kind: 'phase', phase: p, at: Date.now() });
  };
  const startedAtEpoch = Date.now();
  const t0 = now();
  phase('starting');
  const health = new HealthMonitor();
  const errors: string[] = [];
  const noteError = (message: string): void => {
    if (errors.length < 20) errors.push(message);
    emit({ kind: 'error', message });
  };

  let server: ServerProcess | undefined;
  let targets = o.urls;
  if (targets.length === 0) {
    if (!o.startServer) throw new InvalidOptionError('url', 'a target URL is required (or let runLoadTest start the reference server)');
    server = await startServerProcess({ secret: o.secret, ...(signal ? { signal } : {}) });
    targets = [server.url];
    emit({ kind: 'server', url: server.url });
  }

  const shards: ShardHost[] = [];
  let firer: Firer | undefined;
  const latest: (ShardProgress | undefined)[] = [];
  const finals: (ShardFinal | undefined)[] = [];
  let crash: ShardCrashError | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  let dist: DistributedRun | undefined; // a sharded run (distributed.ts); undefined on one process
  const restTimeline = new TimelineRecorder(); // timeline hook: REST operations, counted in this thread
  const liveSeconds = new LiveSeconds(); // timeline hook: the dashboard's per-second figures
  try {
    const runTag = `r${randomBytes(3).toString('hex')}`;
    const base = o.userIdBase;
    const userIds = Array.from({ length: o.users }, (_, i) => String(base + i + 1));
    const probeUser = String(base + o.users + 1);
    const rlUserA = String(base + o.users + 2);
    const rlUserB = String(base + o.users + 3);

    const caps: CapabilityReport = await probeCapabilities({
      url: targets[0]!,
      secret: o.secret,
      userId: probeUser,
      runTag,
      timeoutMs: Math.min(o.connectTimeoutMs, 10_000),
    });
    // sharded: register and wait for every shard (each probed before, so no probe meets a connection)
    // loaded only for a sharded run: ioredis and its dependencies are ~10 MiB of a one-process run's RSS
    if (ctx.distributed) dist = await (await import('./distributed.ts')).DistributedRun.join(ctx.distributed, signal);

    // ---- shards ------------------------------------------------------------------------------
    const shardCount = Math.max(1, o.workers);
    const specs: ShardConnSpec[][] = Array.from({ length: shardCount }, () => []);
    const wsUrls = targets.map((t) => resolveWsUrl(t));
    // source addresses are IPv4: rotate them only toward an IPv4 literal (not ::1, not a name)
    // ... and not when the one source address is the target's own: the OS picks it anyway, and binding
    // first (bind to port 0, then connect) makes Linux search the ephemeral ports on every bind, which
    // at 10,000 connections took ~1.4 ms of kernel time per connection (14 s of blocked event loop)
    const onlySource = o.localAddresses.length === 1 ? o.localAddresses[0] : undefined;
    const ipv4Target = wsUrls.map((u) => {
      const host = new URL(u).hostname;
      return /^\d+\.\d+\.\d+\.\d+$/.test(host) && host !== onlySource;
    });
    let ci = 0;
    let localConns = 0;
    for (const [ui, userId] of userIds.entries()) {
      // sharded: this shard holds its share of the users; ordinals stay the run's
      if (dist && !dist.ownsUser(ui)) {
        ci += o.connsPerUser;
        continue;
      }
      localConns += o.connsPerUser;
      const token = mintTokenSync({ userId, secret: o.secret, ttlSeconds: 24 * 3600 });
      for (let k = 0; k < o.connsPerUser; k++, ci++) {
        specs[ci % shardCount]!.push({
          label: `u${userId}#${k + 1}`,
          userId,
          ordinal: ci,
          wsUrl: wsUrls[ci % wsUrls.length]!,
          token,
          localAddress: ipv4Target[ci % wsUrls.length] ? o.localAddresses[ci % o.localAddresses.length]! : '',
        });
      }
    }
    const totalConns = localConns;
    let syncN = 0;
    const connectDone = specs.map(() => Promise.withResolvers<void>());
    const finalDone = specs.map(() => Promise.withResolvers<void>());
    let progressWaiter: (() => void) | undefined;
    const crashed = Promise.withResolvers<void>();
    const throwIfCrashed = (): void => {
      if (crash) throw crash;
    };
    const onShard = (id: number) => (msg: FromShard) => {
      switch (msg.t) {
        case 'progress':
          latest[id] = msg.p;
          progressWaiter?.();
          break;
        case 'connectDone':
          latest[id] = msg.p;
          connectDone[id]!.resolve();
          break;
        case 'final':
          finals[id] = msg.f;
          latest[id] = msg.f;
          finalDone[id]!.resolve();
          break;
        case 'fatal':
          // a shard that crashed holds a part of the ledger nobody can read: no verdict on the rest
          crash ??= new ShardCrashError(msg.message, msg.stack);
          crashed.resolve();
          progressWaiter?.();
          connectDone[id]!.resolve();
          finalDone[id]!.resolve();
          break;
      }
    };
    for (let id = 0; id < shardCount; id++) {
      shards.push(
        startShard(
          {
            shardId: id,
            conns: specs[id]!,
            connectRate: o.connectRate / shardCount,
            connectTimeoutMs: o.connectTimeoutMs,
            progressIntervalMs: o.progressIntervalMs,
            nonceMark: NONCE_MARK,
            runTag: dist ? dist.runTag : runTag,
            // sharded against a server with seq: what is owed from log order, no clock across machines
            ...(dist?.eligibility(caps.seq) === 'seq' ? { eligibility: 'seq' as const } : {}),
            ...(o.tokenTtlMs !== undefined ? { tokens: { secret: o.secret, ttlSeconds: Math.max(1, Math.round(o.tokenTtlMs / 1000)) } } : {}),
            ...(o.seed !== undefined && (o.churn !== undefined || o.storms !== undefined)
              ? { cuts: { plan: { ...(o.churn ? { churn: o.churn } : {}), storms: o.storms ?? [] }, seed: o.seed } }
              : {}),
            ...(o.slow !== undefined && o.seed !== undefined ? { slow: { ...o.slow, seed: o.seed } } : {}),
          },
          o.workers > 0,
          onShard(id),
        ),
      );
    }
    const post = (msg: ToShard): void => {
      for (const s of shards) s.post(msg);
    };
    dist?.startFeeding(post);
    const sum = (f: (p: ShardProgress) => number): number => latest.reduce((acc, p) => acc + (p ? f(p) : 0), 0);
    const planned = plannedEvents(o);
    const firePlanned = dist ? dist.share(planned) : planned; // sharded: this shard's share
    // sharded: the whole run's totals on the dashboard, from the coordinator about once a second
    dist?.startRunTotals(
      () => ({ opened: sum((p) => p.opened), fired: firer?.fired ?? 0, delivered: sum((p) => p.delivered), expected: sum((p) => p.expected) }),
      planned,
      emit,
      o.progressIntervalMs,
    );
    progressTimer = setInterval(() => {
      emit({ kind: 'connect', opened: sum((p) => p.opened), target: totalConns, errors: sum((p) => p.connectErrors) });
      if (o.seed !== undefined || o.tokenTtlMs !== undefined) emit({ kind: 'churn', cuts: sum((p) => p.cuts ?? 0), reconnecting: sum((p) => p.reconnecting ?? 0), reconnects: sum((p) => p.reconnects), ...(o.slow ? { paused: sum((p) => p.paused ?? 0) } : {}) });
      if (firer) emit({ kind: 'fire', fired: firer.fired, target: firePlanned, accepted: firer.accepted, restErrors: firer.restErrors });
      const live = createHistogram();
      for (const p of latest) if (p) addEncoded(live, p.latency);
      const l = summarize(live);
      emit({
        kind: 'delivery',
        delivered: sum((p) => p.delivered),
        expected: sum((p) => p.expected),
        duplicated: sum((p) => p.duplicated),
        misrouted: sum((p) => p.misrouted),
        latency: { p50: l.p50, p90: l.p90, p99: l.p99, max: l.max, count: l.count },
      });
      const second = liveSeconds.sample(now(), live); // timeline hook
      if (second) emit({ kind: 'second', ...second }); // timeline hook
      const h = health.sample();
      const worst = latest.reduce((m, p) => Math.max(m, p?.lagMs.p99 ?? 0), h.lagMs.p99);
      emit({ kind: 'generator', eventLoopLagMs: { ...h.lagMs, p99: worst }, cpuPercent: h.cpuPercent });
    }, o.progressIntervalMs);
    progressTimer.unref?.();

    // ---- connect -----------------------------------------------------------------------------
    phase('connect');
    health.resetLag();
    post({ t: 'connect' });
    const connectOutcome = await race(Promise.all(connectDone.map((d) => d.promise)), o.connectTimeoutMs + 5000, signal);
    throwIfCrashed();
    if (connectOutcome === 'timeout') noteError('connect phase timed out');
    let aborted = connectOutcome === 'aborted';
    if (dist && !aborted) await dist.connected(); // every shard's connections open: a common start

    // ---- fire --------------------------------------------------------------------------------
    let drainComplete = false;
    let drainEndAt = 0;
    let drainOwed = 0;
    phase('fire');
    const timelineOrigin = now(); // timeline hook: second 0 starts with the fire phase
    restTimeline.setOrigin(timelineOrigin); // timeline hook
    post({ t: 'timelineOrigin', at: timelineOrigin }); // timeline hook
    if (!aborted) {
      const sink: FireSink = {
        register: (ev) => post({ t: 'event', ...ev }),
        ack: (ev) => post({ t: 'ack', ...ev }),
      };
      firer = new Firer({
        urls: targets,
        secret: o.secret,
        userIds,
        total: firePlanned,
        rate: dist ? o.rate / dist.n : o.rate,
        mix: o.mix,
        assignRatio: o.assignRatio,
        patch: caps.patch,
        delete: caps.delete,
        nonceMark: NONCE_MARK,
        runTag: dist ? dist.fireTag : runTag,
        ...(o.eventBytes !== undefined ? { eventBytes: o.eventBytes } : {}),
        sink: dist ? dist.wrapSink(sink) : sink,
        onError: (message) => emit({ kind: 'error', message }),
        onFired: () => restTimeline.fired(now()), // timeline hook
        onAnswered: (ok, at) => (ok ? restTimeline.accepted(at) : restTimeline.error(at)), // timeline hook
        ...(signal ? { signal } : {}),
      });
      await Promise.race([firer.run(), crashed.promise]);
      throwIfCrashed();
      aborted = signal?.aborted ?? false;
    }

    // ---- drain -------------------------------------------------------------------------------
    phase('drain');
    if (firer && !aborted) {
      // sharded: every shard's events and answers in this ledger before the drain counts
      if (dist) await dist.fireDone(firer, o.drainTimeoutMs);
      const deadline = now() + o.drainTimeoutMs;
      const waitProgress = async (pred: () => boolean): Promise<'done' | 'timeout' | 'aborted'> => {
        if (pred() || crash) return 'done';
        const r = await race(
          new Promise<void>((resolve) => {
            progressWaiter = () => {
              if (pred() || crash) resolve();
            };
          }),
          Math.max(1, deadline - now()),
          signal,
        );
        progressWaiter = undefined;
        return r;
      };
      const outcome = await race(firer.idle(), o.drainTimeoutMs, signal);
      aborted = outcome === 'aborted';
      while (!aborted && now() < deadline) {
        // everything posted so far (events, acks) is applied once every shard has answered this sync
        const n = ++syncN;
        post({ t: 'sync', n });
        const synced = await waitProgress(() => latest.every((p) => p !== undefined && p.sync >= n));
        throwIfCrashed();
        if (synced !== 'done') {
          aborted = synced === 'aborted';
          break;
        }
        if (firer.inflightCount() === 0 && sum((p) => p.delivered) >= sum((p) => p.expected)) {
          drainComplete = true;
          break;
        }
        let ticks = 0;
        const next = await waitProgress(() => ++ticks > shardCount);
        if (next === 'aborted') aborted = true;
      }
      throwIfCrashed();
      drainEndAt = now();
      drainOwed = Math.max(0, sum((p) => p.expected) - sum((p) => p.delivered));
      firer.markDrainEnd();
      post({ t: 'drainEnd', at: drainEndAt });
    }

    // ---- rate limit --------------------------------------------------------------------------
    phase('rate-limit');
    let rateLimit: RateLimitCheck = { status: 'skipped', details: [] };
    // sharded: shard 1 alone probes, so the shards do not spend one user's budget together
    if (!o.skipRateLimit && !aborted && (!dist || dist.k === 1)) {
      rateLimit = await probeRateLimit({
        url: targets[0]!,
        urlSecond: targets[1 % targets.length]!,
        secret: o.secret,
        userA: rlUserA,
        userB: rlUserB,
        given: o.rateLimit,
        advertised: caps.advertisedRateLimit,
        timeoutMs: Math.min(o.connectTimeoutMs, 10_000),
        ...(signal ? { signal } : {}),
      });
      aborted = signal?.aborted ?? false;
    } else if (caps.advertisedRateLimit) {
      rateLimit = { status: 'skipped', advertised: caps.advertisedRateLimit, details: [] };
    }

    // ---- results -----------------------------------------------------------------------------
    phase('closing');
    post({ t: 'finish' });
    await race(Promise.all(finalDone.map((d) => d.promise)), 20_000, undefined);
    throwIfCrashed();
    const missingFinals = finals.filter((f, i) => i < shardCount && f === undefined).length + Math.max(0, shardCount - finals.length);
    if (missingFinals > 0) throw new ShardCrashError(`${missingFinals} of ${shardCount} shards sent no final figures within 20 s`, undefined);
    clearInterval(progressTimer);
    progressTimer = undefined;
    const input: BuildInput = {
      o,
      targets,
      startedServer: server !== undefined,
      aborted: aborted || (signal?.aborted ?? false),
      drainComplete,
      drainOwed,
      caps,
      rateLimit,
      firer,
      finals,
      totalConns,
      health: health.sample(),
      errors,
      timings: {
        startedAt: startedAtEpoch,
        connectMs: span(phaseAt.connect, phaseAt.fire),
        fireMs: span(phaseAt.fire, phaseAt.drain),
        drainMs: span(phaseAt.drain, phaseAt['rate-limit']),
        rateLimitMs: span(phaseAt['rate-limit'], phaseAt.closing),
        totalMs: Math.round(now() - t0),
      },
      deliveryWindowMs: firer && drainEndAt > 0 ? drainEndAt - firer.startedAt : 0,
    };
    const timelineParts = [restTimeline.snapshot(), ...finals.flatMap((f) => (f ? [f.timeline] : []))];
    const timelineTo = secondOf(timelineOrigin, drainEndAt || now());
    if (dist) {
      // sharded: every shard publishes its part and returns the same merged result
      const h = input.health;
      const lagP99 = latest.reduce((m, p) => Math.max(m, p?.lagMs.p99 ?? 0), h.lagMs.p99);
      dist.stopRunTotals();
      const merged = await dist.finish(input, timelineParts, timelineTo, {
        cpuPercent: h.cpuPercent,
        lagP99,
        saturated: lagP99 > o.saturationLagMs,
      });
      phase('done');
      return merged;
    }
    const result = buildResult(input);
    // timeline hook: every thread's seconds merged, from the fire start to the end of the drain at least
    result.timeline = buildTimeline(timelineParts, { from: 0, to: timelineTo });
    phase('done');
    return result;
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    health.stop();
    await firer?.close();
    // after a crash the other shards are told to finish, so they close their connections and exit now
    if (crash) for (const s of shards) s.post({ t: 'finish' });
    await Promise.all(shards.map((s) => s.terminate()));
    await server?.close();
    await dist?.close();
  }
}


function span(a: number | undefined, b: number | undefined): number {
  return a !== undefined && b !== undefined ? Math.round(b - a) : 0;
}
