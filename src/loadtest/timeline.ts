// The load run second by second. A TimelineRecorder per thread tallies what happened in each second
// since the timeline's origin (the start of the fire phase): operations fired and accepted, first
// deliveries with their latencies (an HDR histogram per second), connections opened and lost, errors.
// Parts from the main thread and every shard merge exactly (counts add, histograms add) into
// `{t, fired, accepted, delivered, p50Ms, p99Ms, connections, errors}` entries. No clock, no timers:
// callers pass the times in.
import { addEncoded, createHistogram, encodeHistogram, recordMs, summarize, type Histogram } from './histogram.ts';
import type { TimelineEntry } from './types.ts';

/** One second of one thread, as shipped to the main thread (structured-clone and JSON safe). */
export interface TimelineSecondPart {
  /** Seconds since the origin, floor((at - origin) / 1000); negative before it (the connect phase). */
  s: number;
  fired: number;
  accepted: number;
  delivered: number;
  errors: number;
  /** Connections that came up minus connections lost, in this second. */
  connDelta: number;
  /** Latencies of this second's deliveries, an encoded histogram; '' when there were none. */
  latency: string;
}

/** What one recorder holds once the run is over. */
export interface TimelinePart {
  /** The origin the seconds count from (absolute ms); undefined when none was set. */
  origin: number | undefined;
  seconds: TimelineSecondPart[];
}

interface Bucket {
  s: number;
  fired: number;
  accepted: number;
  delivered: number;
  errors: number;
  connDelta: number;
  /** Live while deliveries for this second still come in; at most MAX_LIVE at once. */
  hist: Histogram | undefined;
  encoded: string;
}

type Pending =
  | { k: 'fired' | 'accepted' | 'error'; at: number }
  | { k: 'delivered'; at: number; ms: number }
  | { k: 'conn'; at: number; d: number };

/**
 * An HDR histogram takes ~190 KB: a live one per second would cost hundreds of MB over an hour. Seconds
 * behind the newest two are kept encoded (~1 KB); a straggler for an old second decodes it again.
 */
const MAX_LIVE = 2;

export class TimelineRecorder {
  private origin: number | undefined;
  private readonly buckets = new Map<number, Bucket>();
  /** The bucket delivered() used last. */
  private lastBucket: Bucket | undefined;
  private readonly live: Bucket[] = [];
  /** Which connections are up, so repeated up/down notices for one connection count once. */
  private readonly up: Uint8Array;
  /** Records made before the origin was known (the connect phase), replayed by setOrigin. */
  private pending: Pending[] = [];

  /** @param connections how many connection indices up()/down() may name. */
  constructor(connections = 0, origin?: number) {
    this.up = new Uint8Array(connections);
    this.origin = origin;
  }

  /** Sets the time second 0 starts at (once; later calls are ignored). */
  setOrigin(at: number): void {
    if (this.origin !== undefined) return;
    this.origin = at;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) this.apply(p);
  }

  /** A REST operation was sent. */
  fired(at: number): void {
    this.apply({ k: 'fired', at });
  }

  /** A REST operation was answered 2xx. */
  accepted(at: number): void {
    this.apply({ k: 'accepted', at });
  }

  /** A REST error, a connection that failed to open, or one that dropped. */
  error(at: number): void {
    this.apply({ k: 'error', at });
  }

  /** A first receipt at a connection that was owed it, `latencyMs` after the POST's intended send. */
  delivered(at: number, latencyMs: number): void {
    // the receive path: no object per delivery once the origin is known, and the bucket of the
    // second before is nearly always the one
    if (this.origin === undefined) {
      this.pending.push({ k: 'delivered', at, ms: latencyMs });
      return;
    }
    const s = secondOf(this.origin, at);
    let b = this.lastBucket;
    if (b === undefined || b.s !== s) this.lastBucket = b = this.bucket(s);
    b.delivered++;
    recordMs(b.hist ?? this.histOf(b), latencyMs);
  }

  /** Connection `c` is open (established, or back after a reconnect). Idempotent. */
  connectionUp(c: number, at: number): void {
    if (this.up[c] === 1) return;
    this.up[c] = 1;
    this.apply({ k: 'conn', at, d: 1 });
  }

  /** Connection `c` is not open any more (lost, reconnecting or closed). Idempotent. */
  connectionDown(c: number, at: number): void {
    if (this.up[c] !== 1) return;
    this.up[c] = 0;
    this.apply({ k: 'conn', at, d: -1 });
  }

  /** Everything recorded so far, seconds ascending. Live histograms are encoded, not destroyed. */
  snapshot(): TimelinePart {
    const seconds = [...this.buckets.values()]
      .sort((a, b) => a.s - b.s)
      .map((b) => ({
        s: b.s,
        fired: b.fired,
        accepted: b.accepted,
        delivered: b.delivered,
        errors: b.errors,
        connDelta: b.connDelta,
        latency: b.hist ? encodeHistogram(b.hist) : b.encoded,
      }));
    return { origin: this.origin, seconds };
  }

  private apply(p: Pending): void {
    if (this.origin === undefined) {
      this.pending.push(p);
      return;
    }
    const b = this.bucket(secondOf(this.origin, p.at));
    switch (p.k) {
      case 'fired':
        b.fired++;
        break;
      case 'accepted':
        b.accepted++;
        break;
      case 'error':
        b.errors++;
        break;
      case 'conn':
        b.connDelta += p.d;
        break;
      case 'delivered':
        b.delivered++;
        recordMs(this.histOf(b), p.ms);
        break;
    }
  }

  private bucket(s: number): Bucket {
    let b = this.buckets.get(s);
    if (!b) {
      b = { s, fired: 0, accepted: 0, delivered: 0, errors: 0, connDelta: 0, hist: undefined, encoded: '' };
      this.buckets.set(s, b);
    }
    return b;
  }

  private histOf(b: Bucket): Histogram {
    if (b.hist) return b.hist;
    let h: Histogram;
    if (this.live.length >= MAX_LIVE) {
      // retire the oldest live second and reuse its histogram
      const old = this.live.shift()!;
      h = old.hist!;
      old.encoded = encodeHistogram(h);
      old.hist = undefined;
      h.reset();
    } else h = createHistogram();
    if (b.encoded !== '') {
      addEncoded(h, b.encoded);
      b.encoded = '';
    }
    b.hist = h;
    this.live.push(b);
    return h;
  }
}

/** The second `at` falls in, counted from `origin`. */
export function secondOf(origin: number, at: number): number {
  return Math.floor((at - origin) / 1000);
}

/** Longest timeline built: a week of seconds. A longer span means the parts disagree on their origin. */
const MAX_SECONDS = 7 * 24 * 3600;

/**
 * Merges the parts of every thread into one entry per second, `t` stepping by one with no gaps, from
 * the earlier of `from` and the first recorded second to the later of `to` and the last one. Counts add
 * and histograms add, so the result is the one a single recorder fed everything would give; every
 * count's sum over the entries equals its sum over the parts. Parts must share one origin.
 */
export function buildTimeline(parts: readonly TimelinePart[], range: { from: number; to: number }): TimelineEntry[] {
  const origins = new Set(parts.filter((p) => p.seconds.length > 0).map((p) => p.origin));
  if (origins.size > 1) throw new RangeError(`timeline parts have different origins: ${[...origins].join(', ')}`);
  const merged = new Map<number, { fired: number; accepted: number; delivered: number; errors: number; connDelta: number; latency: string[] }>();
  let first = range.from;
  let last = range.to;
  for (const part of parts) {
    for (const x of part.seconds) {
      let m = merged.get(x.s);
      if (!m) {
        m = { fired: 0, accepted: 0, delivered: 0, errors: 0, connDelta: 0, latency: [] };
        merged.set(x.s, m);
      }
      m.fired += x.fired;
      m.accepted += x.accepted;
      m.delivered += x.delivered;
      m.errors += x.errors;
      m.connDelta += x.connDelta;
      if (x.latency !== '') m.latency.push(x.latency);
      if (x.s < first) first = x.s;
      if (x.s > last) last = x.s;
    }
  }
  if (last < first) return [];
  if (last - first > MAX_SECONDS) throw new RangeError(`timeline spans ${last - first} seconds`);
  const out: TimelineEntry[] = [];
  let connections = 0;
  const h = createHistogram();
  for (let t = first; t <= last; t++) {
    const m = merged.get(t);
    connections += m?.connDelta ?? 0;
    let p50Ms: number | null = null;
    let p99Ms: number | null = null;
    if (m && m.latency.length > 0) {
      h.reset();
      for (const e of m.latency) addEncoded(h, e);
      if (h.totalCount > 0) {
        const s = summarize(h);
        p50Ms = s.p50;
        p99Ms = s.p99;
      }
    }
    out.push({
      t,
      fired: m?.fired ?? 0,
      accepted: m?.accepted ?? 0,
      delivered: m?.delivered ?? 0,
      p50Ms,
      p99Ms,
      connections,
      errors: m?.errors ?? 0,
    });
  }
  return out;
}

/** The worst one-second p99 of a timeline, ms (0 when no second had a delivery). */
export function worstSecondP99(timeline: readonly TimelineEntry[] | undefined): number {
  let worst = 0;
  for (const e of timeline ?? []) if (e.p99Ms !== null && e.p99Ms > worst) worst = e.p99Ms;
  return worst;
}

/** One window of the live view: deliveries per second and their latency, from cumulative histograms. */
export interface LiveSecond {
  deliveriesPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/**
 * Turns the cumulative all-receipt histogram of the progress ticks into per-window figures: each call
 * at least `windowMs` after the last window closed returns the deliveries in between (the count
 * difference, per second) and their p50/p99 (the histogram difference, exact). Otherwise undefined.
 */
export class LiveSeconds {
  private readonly windowMs: number;
  private readonly prev: Histogram = createHistogram();
  private readonly diff: Histogram = createHistogram();
  private prevAt: number | undefined;

  constructor(windowMs = 1000) {
    this.windowMs = windowMs;
  }

  sample(at: number, cumulative: Histogram): LiveSecond | undefined {
    if (this.prevAt === undefined) {
      this.prevAt = at;
      this.prev.reset();
      this.prev.add(cumulative);
      return undefined;
    }
    const elapsed = at - this.prevAt;
    if (elapsed < this.windowMs) return undefined;
    this.diff.reset();
    this.diff.add(cumulative);
    this.diff.subtract(this.prev);
    const count = this.diff.totalCount;
    const s = count > 0 ? summarize(this.diff) : undefined;
    this.prev.reset();
    this.prev.add(cumulative);
    this.prevAt = at;
    return {
      deliveriesPerSec: Math.round((count * 1000 * 10) / elapsed) / 10,
      p50Ms: s ? s.p50 : null,
      p99Ms: s ? s.p99 : null,
    };
  }
}
