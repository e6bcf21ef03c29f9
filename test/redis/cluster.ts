// Support for the multi-instance tests: a server instance as a child process (so it can be SIGKILLed),
// and a plain-ws client that moves between instances with `since` and keeps a ledger of every event.
import type { ChildProcess } from 'node:child_process';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { decodeServerMessage, ErrorText, isLoggedEvent, type LoggedEvent } from '../../src/protocol/index.ts';
import { startServerProcess } from '../../src/loadtest/server-process.ts';
import { TEST_SECRET, testToken } from '../helpers/server.ts';
import { until as sharedUntil, waitForEvent as sharedWaitForEvent, type Emitter } from '../helpers/events.ts';

export const WAIT_MS = 15_000;

export interface ServerChild {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  /** SIGKILL: no shutdown, no close frames, sockets just die. */
  kill(): Promise<void>;
}

/** `bugzapp serve --port 0 --redis URL` in a child process; resolves once it prints its URL. */
export async function spawnServer(redisUrl: string, extra: string[] = []): Promise<ServerChild> {
  const proc = await startServerProcess({ secret: TEST_SECRET, args: ['--redis', redisUrl, ...extra], logLevel: 'warn', timeoutMs: WAIT_MS });
  onTestFinished(proc.kill);
  return { url: proc.url, wsUrl: `${proc.url.replace(/^http/, 'ws')}/ws`, child: proc.child, kill: proc.kill };
}

/** The key of an event in a ledger: the bug report title (unique per POST in these tests) and the event kind. */
export function eventKey(e: LoggedEvent): string {
  if (e.type === 'notification') return `notification:${e.payload.bug_report_id}:${e.payload.message}`;
  if (e.type === 'bug_report') return `bug_report.${e.action}:${e.payload.title}`;
  return `comment.${e.action}:${e.payload.body}`;
}

/**
 * A client that, whenever its socket ends without close() being called, reconnects to the next URL
 * of its list with `since` = the last seq it received, and counts every event it receives by key. It
 * drops nothing: a duplicate sent by the servers shows up as a count of 2.
 */
export class LedgerClient {
  readonly counts = new Map<string, number>();
  readonly seqs: string[] = [];
  lastSeq: string | undefined;
  connections = 0;
  windowExceeded = 0;
  /** Called with the close code whenever a connection ends without close() (before reconnecting). */
  onClose: ((code: number) => void) | undefined;
  private ws: WebSocket | undefined;
  private index = 0;
  private closed = false;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(
    readonly userId: string,
    readonly urls: string[],
  ) {
    onTestFinished(() => this.close());
  }

  get currentUrl(): string {
    return this.urls[this.index % this.urls.length]!;
  }

  /** Open the first connection; resolves on connection_established. */
  async connect(): Promise<void> {
    await this.open();
  }

  private async open(): Promise<void> {
    const url = new URL(this.currentUrl);
    url.searchParams.set('token', await testToken(this.userId));
    if (this.lastSeq !== undefined) url.searchParams.set('since', this.lastSeq);
    const ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws = ws;
    const established = new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('close', () => reject(new Error('closed before connection_established')));
      ws.on('message', (data) => {
        const msg = decodeServerMessage(data as Buffer);
        if (!msg) return;
        if (msg.type === 'connection_established') {
          this.connections++;
          // no event seen yet: resume from the cursor, so nothing between it and a reconnect is lost
          if (this.lastSeq === undefined) this.lastSeq = msg.payload?.cursor;
          resolve();
        } else if (msg.type === 'error' && msg.payload.message === ErrorText.ResumeWindowExceeded) {
          this.windowExceeded++;
        } else if (isLoggedEvent(msg)) {
          const key = eventKey(msg);
          this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
          if (msg.seq !== undefined) {
            this.seqs.push(msg.seq);
            this.lastSeq = msg.seq;
          }
        }
        this.notify();
      });
    });
    ws.on('close', (code) => {
      if (this.closed || this.ws !== ws) return;
      this.onClose?.(code);
      this.index++;
      void this.reconnect();
    });
    ws.on('error', () => undefined);
    await established;
  }

  /** Try the next URLs in turn, a bounded number of times. */
  private async reconnect(): Promise<void> {
    for (let attempt = 0; attempt < 20 && !this.closed; attempt++) {
      try {
        await this.open();
        this.notify();
        return;
      } catch {
        this.index++;
      }
    }
  }

  private notify(): void {
    this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }

  /** Resolves once `check` holds, re-checked on every message; rejects after the timeout. */
  until(check: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.userId}: ${what} not reached within ${timeoutMs} ms (${this.counts.size} keys, ${this.connections} connections)`));
      }, timeoutMs);
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves once every key is in the ledger. */
  untilHas(keys: string[], timeoutMs = WAIT_MS): Promise<void> {
    return this.until(() => keys.every((k) => this.counts.has(k)), `${keys.length} events`, timeoutMs);
  }

  /** Keys received more than once. */
  duplicates(): string[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([k]) => k);
  }

  close(): void {
    this.closed = true;
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}

/** POST one bug report with a unique title; resolves with the HTTP status. */
export async function postBug(
  baseUrl: string,
  title: string,
  assignee: string | null = null,
  reporter = 'reporter',
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}/bug-reports/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await testToken(reporter)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title, assignee_id: assignee }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body };
}

export { TEST_SECRET };

/** `promise`, or a rejection after `ms` (the timer is cleared either way). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The shared waits, with this file's longer default (instances are child processes). */
export const waitForEvent = <A extends unknown[]>(
  emitter: Emitter,
  event: string,
  predicate?: (...args: A) => boolean,
  timeoutMs = WAIT_MS,
): Promise<A> => sharedWaitForEvent(emitter, event, predicate, timeoutMs);
export const until = (emitter: Emitter, event: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> =>
  sharedUntil(emitter, event, check, timeoutMs);
