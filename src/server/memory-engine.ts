// The embedded event log: a ring buffer of the last `history` events with synchronous fan-out.
// `seq` is `<epoch>-<n>`: the epoch is random per process start, so a restarted server answers the
// seqs of its previous life with "Resume window exceeded" instead of replaying the wrong events.
import { randomBytes } from 'node:crypto';
import { encodeToBuffer, type LoggedEvent } from '../protocol/index.ts';
import type { EventEngine, PublishedEvent, ReadSinceResult, UnsequencedEvent } from './backends.ts';

const SEQ_RE = /^([0-9a-f]{8})-(0|[1-9][0-9]{0,15})$/;

export interface MemoryEventEngineOptions {
  /** Events kept for resume. @default 10000 */
  history?: number;
  /** Fixed epoch (8 hex digits), for tests. @default random */
  epoch?: string;
}

export class MemoryEventEngine implements EventEngine {
  readonly epoch: string;
  private readonly history: number;
  private readonly ring: (PublishedEvent | undefined)[];
  /** n of the newest event; 0 while the log is empty. */
  private last = 0;
  private listeners: ((event: PublishedEvent) => void)[] = [];
  private closed = false;

  constructor(options: MemoryEventEngineOptions = {}) {
    this.history = options.history ?? 10_000;
    this.epoch = options.epoch ?? randomBytes(4).toString('hex');
    this.ring = new Array(this.history);
  }

  publish(event: UnsequencedEvent, target: string | null): Promise<PublishedEvent> {
    if (this.closed) return Promise.reject(new Error('event engine closed'));
    const n = this.last + 1;
    const seq = `${this.epoch}-${n}`;
    const message = { ...event, seq } as LoggedEvent;
    const published: PublishedEvent = { seq, type: event.type, target, frame: encodeToBuffer(message) };
    this.ring[n % this.history] = published;
    this.last = n;
    for (const listener of this.listeners) listener(published);
    return Promise.resolve(published);
  }

  onEvent(listener: (event: PublishedEvent) => void): void {
    this.listeners.push(listener);
  }

  /** n of the oldest event still held (this.last + 1 when empty). */
  private firstHeld(): number {
    return Math.max(1, this.last - this.history + 1);
  }

  /** The oldest event held, or the cursor of an empty log. */
  oldest(): string {
    return `${this.epoch}-${this.last === 0 ? 0 : this.firstHeld()}`;
  }

  readSince(since: string, userId: string): Promise<ReadSinceResult> {
    const m = SEQ_RE.exec(since);
    const n = m && m[1] === this.epoch ? Number(m[2]) : -1;
    // every event after `since` must still be held: n may be at most one before the oldest held
    if (n < 0 || n < this.firstHeld() - 1 || n > this.last) {
      return Promise.resolve({ kind: 'window_exceeded', oldest: this.oldest() });
    }
    const events: PublishedEvent[] = [];
    for (let i = n + 1; i <= this.last; i++) {
      const e = this.ring[i % this.history]!;
      if (e.target === null || e.target === userId) events.push(e);
    }
    return Promise.resolve({ kind: 'ok', events });
  }

  cursor(): Promise<string> {
    return Promise.resolve(`${this.epoch}-${this.last}`);
  }

  compareSeq(a: string, b: string): number {
    const ia = a.indexOf('-');
    const ib = b.indexOf('-');
    const ea = a.slice(0, ia);
    const eb = b.slice(0, ib);
    if (ea !== eb) return ea < eb ? -1 : 1;
    return Number(a.slice(ia + 1)) - Number(b.slice(ib + 1));
  }

  isValidSeq(seq: string): boolean {
    return SEQ_RE.test(seq);
  }

  isReady(): Promise<boolean> {
    return Promise.resolve(!this.closed);
  }

  close(): Promise<void> {
    this.closed = true;
    this.listeners = [];
    return Promise.resolve();
  }
}
