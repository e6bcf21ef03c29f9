// The event log in one Redis Stream, shared by every instance. Publishing is one Lua call (XADD and
// trim, atomic); each instance tails the stream with one blocking XREAD on its own connection and calls
// its listeners in stream order, building each event's frame once per instance (the publishing instance
// reuses the frame it built for publish's answer).
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BugzappError } from '../../errors.ts';
import { encode, encodeToBuffer, type LoggedEvent, type LoggedEventType } from '../../protocol/index.ts';
import type { DeliveryGap, EventEngine, PublishedEvent, ReadSinceResult, UnsequencedEvent } from '../backends.ts';
import { defineScript, errorText, unavailable, type ScriptFn } from './connection.ts';
import type { RedisMetrics } from './metrics.ts';
import { HEAD_LUA, PUBLISH_LUA, READ_SINCE_LUA } from './scripts.ts';
import { compareSeqs, compareStreamIds, formatSeq, parseSeq } from './seq.ts';

export interface RedisLogKeys {
  stream: string;
  epoch: string;
  trim: string;
}

export interface RedisEventEngineOptions {
  /** Commands (publish, resume reads). */
  redis: Redis;
  /** A connection of its own: the blocking XREAD lives here. */
  reader: Redis;
  keys: RedisLogKeys;
  /** Events kept in the stream. */
  history: number;
  metrics: RedisMetrics;
  logger: Logger;
  /** Entries per XREAD. @default 1000 */
  readCount?: number;
  /** XREAD BLOCK timeout; bounds how long close() waits for the reader. @default 2000 */
  blockMs?: number;
  /** How long a resume waits for this instance's reader to reach a `since` seen on another instance. @default 5000 */
  resumeWaitMs?: number;
}

type StreamEntry = [id: string, fields: string[]];

function freshEpoch(): string {
  return randomBytes(4).toString('hex');
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

interface Waiter {
  epoch: string;
  id: string;
  resolve: () => void;
}

export class RedisEventEngine implements EventEngine {
  private readonly redis: Redis;
  private readonly reader: Redis;
  private readonly keys: RedisLogKeys;
  private readonly history: number;
  private readonly metrics: RedisMetrics;
  private readonly log: Logger;
  private readonly readCount: number;
  private readonly blockMs: number;
  private readonly resumeWaitMs: number;
  private readonly publishScript: ScriptFn;
  private readonly readSinceScript: ScriptFn;
  private readonly headScript: ScriptFn;
  /** The same script on the commands connection (the reader's is busy in its blocking XREAD). */
  private readonly commandHeadScript: ScriptFn;

  /** Epoch and id of the newest entry this instance has delivered (or the stream head at start). */
  private epoch = '';
  private lastId = '0-0';
  /** Set after a read error: re-read the head (the stream may have been replaced) before reading on. */
  private resync = false;
  private listeners: ((event: PublishedEvent) => void)[] = [];
  private gapListeners: ((gap: DeliveryGap) => void)[] = [];
  /** Recent events by seq, so a frame is built once per instance (publish, live read and replay share it). */
  private readonly frames = new Map<string, PublishedEvent>();
  private waiters: Waiter[] = [];
  private closed = false;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(options: RedisEventEngineOptions) {
    this.redis = options.redis;
    this.reader = options.reader;
    this.keys = options.keys;
    this.history = options.history;
    this.metrics = options.metrics;
    this.log = options.logger;
    this.readCount = options.readCount ?? 1000;
    this.blockMs = options.blockMs ?? 2000;
    this.resumeWaitMs = options.resumeWaitMs ?? 5000;
    this.publishScript = defineScript(this.redis, 'bugzappPublish', PUBLISH_LUA, 3);
    this.readSinceScript = defineScript(this.redis, 'bugzappReadSince', READ_SINCE_LUA, 3);
    this.headScript = defineScript(this.reader, 'bugzappHead', HEAD_LUA, 3);
    this.commandHeadScript = defineScript(this.redis, 'bugzappHead', HEAD_LUA, 3);
  }

  /** Read the stream head and start tailing it. Rejects with ERR_BACKEND_UNAVAILABLE. */
  async start(): Promise<void> {
    try {
      await this.syncHead();
    } catch (err) {
      throw unavailable('could not read the event stream', err);
    }
    this.loop = this.readLoop();
  }

  /** The epoch and newest id of the log, as the reader's starting point (or after a reconnect). */
  private async syncHead(): Promise<void> {
    const { stream, epoch, trim } = this.keys;
    const [headEpoch, headId] = (await this.headScript(stream, epoch, trim, freshEpoch())) as [string, string];
    if (this.epoch === '') {
      this.epoch = headEpoch;
      this.lastId = headId;
    } else if (headEpoch !== this.epoch) {
      // a new log (Redis restarted empty, or flushed): everything in it is new to this instance
      this.replaced(headEpoch);
    }
  }

  private async readLoop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        if (this.resync) {
          await this.syncHead();
          this.resync = false;
        }
        // The trim mark, read in the same round trip just before the XREAD: if it passed our position,
        // entries this instance never delivered are gone (it fell more than `history` behind).
        const results = await this.reader
          .pipeline()
          .get(this.keys.trim)
          .xread('COUNT', this.readCount, 'BLOCK', this.blockMs, 'STREAMS', this.keys.stream, this.lastId)
          .exec();
        const [trimResult, readResult] = results ?? [];
        if (!trimResult || !readResult) throw new Error('empty pipeline answer');
        if (readResult[0]) throw readResult[0];
        const trimmed = trimResult[1] as string | null;
        if (trimmed && compareStreamIds(this.lastId, trimmed) < 0) {
          this.reportGap(formatSeq(this.epoch, trimmed), 'instance fell behind the event log');
        }
        const reply = readResult[1] as [string, StreamEntry[]][] | null;
        failures = 0;
        if (reply && reply[0]) this.deliverBatch(reply[0][1]);
      } catch (err) {
        if (this.closed) break;
        failures++;
        this.resync = true;
        this.metrics.errors.inc({ op: 'read' });
        if (failures === 1) this.log.warn({ err: errorText(err) }, 'Redis stream reader failed; resuming after reconnect');
        await this.pause(failures);
      }
    }
  }

  /** After a failed read: wait for the reader to be connected again, or back off if it already is. */
  private async pause(failures: number): Promise<void> {
    const signal = this.stop.signal;
    const delay = Math.min(25 * 2 ** Math.min(failures, 6), 1000);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.reader.off('ready', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      if (this.reader.status !== 'ready') this.reader.on('ready', done);
      signal.addEventListener('abort', done);
    });
  }

  /**
   * Events this instance never delivered were trimmed away: its live connections have a gap that only
   * a reconnect (resume answered "Resume window exceeded") can tell them about. The engine cannot close
   * sockets; it logs, counts, and tells the `onGap` listeners (the server closes the connections).
   */
  private reportGap(to: string, reason: string): void {
    const from = formatSeq(this.epoch, this.lastId);
    this.metrics.errors.inc({ op: 'gap' });
    this.log.error({ from, to }, `Redis stream reader: ${reason}; live connections may have missed events`);
    for (const listener of this.gapListeners) {
      try {
        listener({ from, to, reason });
      } catch (err) {
        this.log.error({ err: errorText(err) }, 'gap listener threw');
      }
    }
  }

  /**
   * Called when this instance's reader finds that events it had not delivered yet were trimmed away
   * (it was more than `history` events behind): the instance's live connections missed them, and the
   * listener should close them so their clients resume (and learn the window was exceeded).
   */
  onGap(listener: (gap: DeliveryGap) => void): void {
    this.gapListeners.push(listener);
  }

  private deliverBatch(entries: StreamEntry[]): void {
    for (const [id, fields] of entries) {
      const epoch = field(fields, 'e') ?? this.epoch;
      if (epoch !== this.epoch) {
        // The stream was replaced under a connected reader (FLUSHALL): its first entries may have ids
        // at or below our old position, so read the new stream again from its start.
        this.replaced(epoch);
        break;
      }
      const event = this.eventForOrSkip(epoch, id, fields);
      this.lastId = id;
      if (!event) continue;
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch (err) {
          this.log.error({ err: errorText(err), seq: event.seq }, 'event listener threw');
        }
      }
    }
    const newest = entries[entries.length - 1];
    if (newest) this.metrics.streamLagMs.set(Math.max(0, Date.now() - Number(newest[0].slice(0, newest[0].indexOf('-')))));
    if (this.waiters.length > 0) {
      this.waiters = this.waiters.filter((w) => {
        if (!this.hasDelivered(w.epoch, w.id)) return true;
        w.resolve();
        return false;
      });
    }
  }

  /**
   * The log was replaced (Redis flushed or restarted empty). Whatever the old log held past this
   * instance's position is gone, and nothing can tell whether there was any: every live connection
   * must be told (a gap), before any event of the new log is delivered; then the new log is read
   * from its start.
   */
  private replaced(epoch: string): void {
    this.reportGap(formatSeq(epoch, '0-0'), 'event log replaced (Redis flushed or restarted)');
    this.epoch = epoch;
    this.lastId = '0-0';
  }

  /** The PublishedEvent of a stream entry: from the frame cache, or built (and cached) once. */
  private eventFor(epoch: string, id: string, fields: string[]): PublishedEvent {
    const seq = formatSeq(epoch, id);
    const cached = this.frames.get(seq);
    if (cached) return cached;
    const message = JSON.parse(field(fields, 'm') ?? '{}') as UnsequencedEvent;
    const target = field(fields, 't') ?? '';
    const event: PublishedEvent = {
      seq,
      type: (field(fields, 'y') ?? message.type) as LoggedEventType,
      target: target === '' ? null : target,
      frame: encodeToBuffer({ ...message, seq } as LoggedEvent),
    };
    this.remember(event);
    return event;
  }

  /** eventFor, or undefined (logged and counted) for an entry this engine did not write: skipped, never retried forever. */
  private eventForOrSkip(epoch: string, id: string, fields: string[]): PublishedEvent | undefined {
    try {
      return this.eventFor(epoch, id, fields);
    } catch (err) {
      this.metrics.errors.inc({ op: 'read' });
      this.log.error({ id, err: errorText(err) }, 'skipping an unreadable entry of the Redis event stream');
      return undefined;
    }
  }

  private remember(event: PublishedEvent): void {
    this.frames.set(event.seq, event);
    if (this.frames.size > this.history) {
      const oldest = this.frames.keys().next().value;
      if (oldest !== undefined) this.frames.delete(oldest);
    }
  }

  private hasDelivered(epoch: string, id: string): boolean {
    return this.epoch === epoch && compareStreamIds(this.lastId, id) >= 0;
  }

  /**
   * Wait until this instance's reader has delivered everything up to the stream head as of now (false
   * after `timeoutMs`, or when Redis cannot say where the head is). For shutdown, before 1001.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.closed) return false;
    const { stream, epoch, trim } = this.keys;
    let head: [string, string];
    try {
      head = (await this.commandHeadScript(stream, epoch, trim, freshEpoch())) as [string, string];
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'shutdown: cannot read the stream head; closing without reading to it');
      return false;
    }
    return this.waitUntilDelivered(head[0], head[1], timeoutMs);
  }

  private waitUntilDelivered(epoch: string, id: string, timeoutMs = this.resumeWaitMs): Promise<boolean> {
    if (this.hasDelivered(epoch, id)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter: Waiter = {
        epoch,
        id,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
    });
  }

  async publish(event: UnsequencedEvent, target: string | null): Promise<PublishedEvent> {
    if (this.closed) throw new BugzappError('ERR_BACKEND_UNAVAILABLE', 'event engine closed');
    const { stream, epoch, trim } = this.keys;
    let reply: [string, string];
    try {
      reply = (await this.publishScript(
        stream,
        epoch,
        trim,
        freshEpoch(),
        target ?? '',
        event.type,
        encode(event as LoggedEvent),
        this.history,
      )) as [string, string];
    } catch (err) {
      this.metrics.errors.inc({ op: 'publish' });
      throw unavailable('could not append the event to the stream', err);
    }
    const seq = formatSeq(reply[0], reply[1]);
    const known = this.frames.get(seq);
    if (known) return known;
    const published: PublishedEvent = {
      seq,
      type: event.type,
      target,
      frame: encodeToBuffer({ ...event, seq } as LoggedEvent),
    };
    this.remember(published);
    return published;
  }

  onEvent(listener: (event: PublishedEvent) => void): void {
    this.listeners.push(listener);
  }

  async readSince(since: string, userId: string): Promise<ReadSinceResult> {
    const parsed = parseSeq(since);
    const { stream, epoch, trim } = this.keys;
    for (let attempt = 0; ; attempt++) {
      // Replay only up to what this instance has delivered live: later events reach the connection live.
      const cap = parsed && parsed.epoch === this.epoch ? this.lastId : '0-0';
      let reply: [string, string, (StreamEntry[] | string)?];
      try {
        reply = (await this.readSinceScript(
          stream,
          epoch,
          trim,
          parsed?.epoch ?? '',
          parsed?.id ?? '0-0',
          cap,
          userId,
          freshEpoch(),
        )) as typeof reply;
      } catch (err) {
        this.metrics.errors.inc({ op: 'resume' });
        throw unavailable('could not read the event stream', err);
      }
      const [kind, logEpoch, rest] = reply;
      if (kind === 'x') {
        this.metrics.resumes.inc({ outcome: 'window_exceeded' });
        return { kind: 'window_exceeded', oldest: formatSeq(logEpoch, rest as string) };
      }
      if (kind === 'ok') {
        this.metrics.resumes.inc({ outcome: 'replayed' });
        const events: PublishedEvent[] = [];
        for (const [id, fields] of rest as StreamEntry[]) {
          const event = this.eventForOrSkip(field(fields, 'e') ?? logEpoch, id, fields);
          if (event) events.push(event);
        }
        return { kind: 'ok', events };
      }
      // 'ahead': the client saw events (on another instance) that this instance's reader has not
      // delivered yet; wait for it, or replay and live delivery would overlap
      if (attempt > 0 || !parsed || !(await this.waitUntilDelivered(parsed.epoch, parsed.id))) {
        this.metrics.errors.inc({ op: 'resume' });
        throw new BugzappError(
          'ERR_BACKEND_UNAVAILABLE',
          `Redis stream reader of this instance has not reached ${since} within ${this.resumeWaitMs} ms`,
        );
      }
    }
  }

  cursor(): Promise<string> {
    return Promise.resolve(formatSeq(this.epoch, this.lastId));
  }

  compareSeq(a: string, b: string): number {
    // Across epochs, the current log is the newer one: a queued live event of a log that replaced the
    // stream must never be filtered out as "already replayed" against a seq of the old log.
    const ea = a.slice(0, a.indexOf(':'));
    const eb = b.slice(0, b.indexOf(':'));
    if (ea !== eb) {
      if (ea === this.epoch) return 1;
      if (eb === this.epoch) return -1;
    }
    return compareSeqs(a, b);
  }

  isValidSeq(seq: string): boolean {
    return parseSeq(seq) !== undefined;
  }

  /**
   * Resolves once both connections are up (at once when they are), or false after `timeoutMs`. For
   * callers that want to wait out a reconnect instead of polling isReady().
   */
  async whenConnected(timeoutMs: number): Promise<boolean> {
    const conns = [this.redis, this.reader];
    return new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (this.closed || conns.every((c) => c.status === 'ready')) finish(!this.closed);
      };
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        for (const c of conns) c.off('ready', check);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      for (const c of conns) c.on('ready', check);
      check();
    });
  }

  async isReady(): Promise<boolean> {
    if (this.closed || this.redis.status !== 'ready' || this.reader.status !== 'ready') return false;
    try {
      await this.redis.ping();
      return true;
    } catch {
      return false;
    }
  }

  /** Stop the reader; the connections belong to createRedisBackends. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners = [];
    this.gapListeners = [];
    this.stop.abort();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    // unblock the pending XREAD
    this.reader.disconnect();
    await this.loop;
  }
}
