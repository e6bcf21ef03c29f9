// The coordinator of a sharded load run: everything the shards of one run share goes through Redis under
// `bugzapp:run:<id>:`, with an expiry, so two runs with different ids never mix and nothing outlives a
// run for long. Barriers (who has arrived), one stream of the run's events (each shard's registrations,
// answers and end-of-fire marks, in the order each shard wrote them) and each shard's partial result.
// No clock of another machine is trusted here: barriers and waits use this process's clock only.
import { Redis } from 'ioredis';
import { BugzappError } from '../errors.ts';

/** Keys live this long after their last write (a run's keys vanish after the run). */
export const COORDINATOR_TTL_SECONDS = 3600;
const POLL_MS = 20;

/** A shard of the run never arrived (registration, a barrier, its end of fire or its partial result). */
export class ShardMissingError extends BugzappError {
  readonly missing: number[];
  constructor(what: string, missing: number[], waitedMs: number) {
    super(
      'ERR_LOADTEST_SHARD',
      `shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} did not ${what} within ${Math.round(waitedMs / 1000)} s: no verdict on partial data`,
    );
    this.missing = missing;
  }
}

/** One entry of the run's event stream. `k` is the shard that wrote it (1-based). */
export type StreamEntry =
  | { t: 'e'; k: number; idx: number; key: string; type: number; target: string | null }
  | { t: 'a'; k: number; idx: number; ok: boolean; alias?: string }
  /** Shard k has fired everything and every answer is in the stream before this mark. */
  | { t: 'd'; k: number; events: number };

export interface CoordinatorOptions {
  url: string;
  runId: string;
  shard: number;
  shards: number;
}

export class Coordinator {
  readonly prefix: string;
  private readonly o: CoordinatorOptions;
  private readonly redis: Redis;
  private reader: Redis | undefined;
  private reading = false;
  private readerDone: Promise<void> | undefined;
  private pendingWrites: Promise<unknown>[] = [];
  private writeError: Error | undefined;
  private streamExpires = false;

  constructor(o: CoordinatorOptions) {
    this.o = o;
    this.prefix = `bugzapp:run:${o.runId}:`;
    this.redis = new Redis(o.url, { lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 3 });
    // a lost connection is retried by ioredis; what it costs shows in the calls that fail
    this.redis.on('error', () => undefined);
  }

  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (err) {
      throw new BugzappError('ERR_BACKEND_UNAVAILABLE', `cannot reach the coordinator at ${this.o.url}: ${(err as Error).message}`);
    }
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  /** Marks this shard as arrived at `barrier` (with a value, e.g. its host) and waits for all N. */
  async barrier(barrier: string, what: string, value: string, waitMs: number, signal?: AbortSignal): Promise<Map<number, string>> {
    const key = this.key(`barrier:${barrier}`);
    await this.redis.multi().hset(key, String(this.o.shard), value).expire(key, COORDINATOR_TTL_SECONDS).exec();
    return this.waitForAll(key, what, waitMs, signal);
  }

  /** Waits until the hash `key` has a field for every shard 1..N; names the missing ones on timeout. */
  private async waitForAll(key: string, what: string, waitMs: number, signal?: AbortSignal): Promise<Map<number, string>> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const all = await this.redis.hgetall(key);
      const missing: number[] = [];
      for (let k = 1; k <= this.o.shards; k++) if (all[String(k)] === undefined) missing.push(k);
      if (missing.length === 0) return new Map(Object.entries(all).map(([k, v]) => [Number(k), v]));
      if (Date.now() >= deadline || signal?.aborted) throw new ShardMissingError(what, missing, waitMs);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Appends to the run's event stream (pipelined; errors surface at flush). */
  publish(entry: StreamEntry): void {
    const key = this.key('events');
    const p = this.redis.xadd(key, '*', 'm', JSON.stringify(entry)).catch((err: Error) => {
      this.writeError ??= err;
    });
    this.pendingWrites.push(p);
    if (!this.streamExpires) {
      // the stream exists from its first entry: from then on it expires even if no shard gets to flush
      this.streamExpires = true;
      this.pendingWrites.push(p.then(() => this.redis.expire(key, COORDINATOR_TTL_SECONDS)).catch(() => undefined));
    }
    if (this.pendingWrites.length > 1000) this.pendingWrites = [Promise.all(this.pendingWrites)];
  }

  /** Waits for every publish so far to be written. */
  async flush(): Promise<void> {
    await Promise.all(this.pendingWrites);
    this.pendingWrites = [];
    await this.redis.expire(this.key('events'), COORDINATOR_TTL_SECONDS);
    if (this.writeError) throw new BugzappError('ERR_BACKEND_UNAVAILABLE', `the coordinator lost a write: ${this.writeError.message}`);
  }

  /** Reads the stream from its start, calling `on` for each entry in order, until stopReading. */
  startReading(on: (entry: StreamEntry, entryMs: number) => void): void {
    this.reader = this.redis.duplicate();
    this.reader.on('error', () => undefined);
    this.reading = true;
    const key = this.key('events');
    let last = '0-0';
    const loop = async (): Promise<void> => {
      while (this.reading) {
        const res = (await this.reader!.xread('COUNT', 2000, 'BLOCK', 100, 'STREAMS', key, last).catch(() => 'error')) as
          | [string, [string, string[]][]][]
          | null
          | 'error';
        // Redis unreachable: ioredis reconnects; the waits that need the stream time out and name the shards
        if (res === 'error') await new Promise((r) => setTimeout(r, 100));
        if (!res || res === 'error') continue;
        for (const [, entries] of res) {
          for (const [id, fields] of entries) {
            last = id;
            on(JSON.parse(fields[1]!) as StreamEntry, Number(id.slice(0, id.indexOf('-'))));
          }
        }
      }
    };
    this.readerDone = loop();
  }

  async stopReading(): Promise<void> {
    this.reading = false;
    await this.readerDone;
    this.reader?.disconnect();
    this.reader = undefined;
  }

  /** Redis's clock minus this machine's (ms, within half a round trip): to read stream ids' times. */
  async clockOffsetMs(): Promise<number> {
    const before = Date.now();
    const [s, us] = await this.redis.time();
    const after = Date.now();
    return Number(s) * 1000 + Number(us) / 1000 - (before + after) / 2;
  }

  /**
   * Writes this shard's live figures and reads every shard's, with how many arrived at `barrier`: one
   * round trip (a sharded dashboard calls it about once a second, not per progress tick).
   */
  async progress(own: string, barrier: string): Promise<{ figures: Map<number, string>; atBarrier: number }> {
    const key = this.key('progress');
    const res = await this.redis
      .multi()
      .hset(key, String(this.o.shard), own)
      .expire(key, COORDINATOR_TTL_SECONDS)
      .hgetall(key)
      .hlen(this.key(`barrier:${barrier}`))
      .exec();
    const all = (res?.[2]?.[1] ?? {}) as Record<string, string>;
    return { figures: new Map(Object.entries(all).map(([k, v]) => [Number(k), v])), atBarrier: Number(res?.[3]?.[1] ?? 0) };
  }

  /** Publishes this shard's partial result. */
  async putPartial(json: string): Promise<void> {
    const key = this.key('partials');
    await this.redis.multi().hset(key, String(this.o.shard), json).expire(key, COORDINATOR_TTL_SECONDS).exec();
  }

  /** Every shard's partial result, by shard, once all N are there. */
  async allPartials(waitMs: number, signal?: AbortSignal): Promise<Map<number, string>> {
    return this.waitForAll(this.key('partials'), 'report a result', waitMs, signal);
  }

  async close(): Promise<void> {
    await this.stopReading();
    this.redis.disconnect();
  }
}
