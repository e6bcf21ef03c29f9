// The client's events as an async iterator: a queue that the client pushes into and a consumer pulls.
import type { BugzappError } from '../errors.ts';
import type { ReceivedEvent } from './client.ts';

export class EventIterator implements AsyncIterableIterator<ReceivedEvent> {
  private readonly queue: ReceivedEvent[] = [];
  private waiting: { resolve: (r: IteratorResult<ReceivedEvent>) => void; reject: (e: Error) => void } | undefined;
  private done = false;
  private error: BugzappError | undefined;

  constructor(private readonly onReturn: () => void) {}

  push(item: ReceivedEvent): void {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: item, done: false });
    } else this.queue.push(item);
  }

  /** The client stopped: drain what is queued, then finish (or throw `error`). */
  end(error?: BugzappError): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    if (this.waiting && this.queue.length === 0) {
      const w = this.waiting;
      this.waiting = undefined;
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<ReceivedEvent>> {
    const item = this.queue.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.done) {
      if (this.error) {
        const e = this.error;
        this.error = undefined;
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<ReceivedEvent>> {
    this.done = true;
    this.queue.length = 0;
    this.error = undefined;
    this.onReturn();
    if (this.waiting) {
      this.waiting.resolve({ value: undefined, done: true });
      this.waiting = undefined;
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedEvent> {
    return this;
  }
}
