// Small helpers over BugzappClient for the probes (capabilities, rate limit): wait for a message, send
// a burst of pings and count the answers. Waits end on the event; their timeouts only fail.
import { BugzappClient, type ConnectionInfo } from '../client/index.ts';
import { BugzappError } from '../errors.ts';
import { ErrorText, mintTokenSync, type ServerMessage } from '../protocol/index.ts';
import { now } from './clock.ts';

export interface ProbeClient {
  client: BugzappClient;
  info: ConnectionInfo;
  messages: ServerMessage[];
  close(): Promise<void>;
}

export async function openProbeClient(opts: {
  url: string;
  secret: string;
  userId: string;
  since?: string;
  localAddress?: string;
  timeoutMs: number;
}): Promise<ProbeClient> {
  const client = new BugzappClient({
    url: opts.url,
    token: mintTokenSync({ userId: opts.userId, secret: opts.secret }),
    maxRetries: 1,
    backoffBaseMs: 100,
    handshakeTimeout: opts.timeoutMs,
    clock: now,
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
  const messages: ServerMessage[] = [];
  client.on('message', (m) => {
    if (messages.length < 10_000) messages.push(m);
  });
  const info = await withTimeout(client.connect(), opts.timeoutMs, `no connection_established from ${opts.url} within ${opts.timeoutMs} ms`).catch(
    async (err: unknown) => {
      await client.close();
      throw err;
    },
  );
  return { client, info, messages, close: () => client.close() };
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BugzappError('ERR_TIMEOUT', message)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** The first message (already received or to come) matching `predicate`, or undefined after `ms`. */
export function waitForMessage(p: ProbeClient, predicate: (m: ServerMessage) => boolean, ms: number): Promise<ServerMessage | undefined> {
  const found = p.messages.find(predicate);
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    const onMessage = (m: ServerMessage): void => {
      if (!predicate(m)) return;
      done(m);
    };
    const timer = setTimeout(() => done(undefined), ms);
    const done = (m: ServerMessage | undefined): void => {
      clearTimeout(timer);
      p.client.off('message', onMessage);
      resolve(m);
    };
    p.client.on('message', onMessage);
  });
}

export interface BurstResult {
  sent: number;
  pongs: number;
  limited: number;
  otherErrors: number;
  /** Answers still missing when the wait ended. */
  unanswered: number;
}

/** Sends `n` pings at once and counts the answers (pong / "Rate limit exceeded" / other errors). */
export function pingBurst(p: ProbeClient, n: number, timeoutMs: number): Promise<BurstResult> {
  return new Promise((resolve) => {
    const r: BurstResult = { sent: 0, pongs: 0, limited: 0, otherErrors: 0, unanswered: 0 };
    const onMessage = (m: ServerMessage): void => {
      if (m.type === 'pong') r.pongs++;
      else if (m.type === 'error') {
        if (m.payload.message === ErrorText.RateLimitExceeded) r.limited++;
        else r.otherErrors++;
      } else return;
      if (r.pongs + r.limited + r.otherErrors >= r.sent) done();
    };
    const timer = setTimeout(() => done(), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      p.client.off('message', onMessage);
      r.unanswered = Math.max(0, r.sent - r.pongs - r.limited - r.otherErrors);
      resolve(r);
    };
    p.client.on('message', onMessage);
    for (let i = 0; i < n; i++) if (p.client.send({ type: 'ping' })) r.sent++;
    if (r.sent === 0) done();
  });
}
