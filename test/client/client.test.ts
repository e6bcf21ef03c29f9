// The protocol client against the real reference server, the guide-like server and small test servers.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  backoffCeiling,
  computeBackoff,
  createClient,
  createRestClient,
  guessSeqOrder,
  resolveWsUrl,
  type BugzappClient,
  type BugzappClientOptions,
  type ClientState,
} from '../../src/client/index.ts';
import { AuthError, ClientError, HttpStatusError } from '../../src/errors.ts';
import { encode, mintTokenSync, type LoggedEvent } from '../../src/protocol/index.ts';
import { startGuideServer } from '../../fixtures/servers/guide-server.ts';
import { freePort, startTestServer, TEST_SECRET } from '../helpers/server.ts';
import { startDropProxy } from './drop-proxy.ts';
import { until, waitForEvent } from '../helpers/events.ts';

function tokenFor(user: string | number, secret = TEST_SECRET): () => string {
  return () => mintTokenSync({ userId: user, secret });
}

/** Both transports run every test against a server: the ws library's and the lean one. */
const TRANSPORTS = ['ws', 'lean'] as const;

function baseClient(options: BugzappClientOptions): BugzappClient {
  const c = createClient({ backoffBaseMs: 5, backoffCapMs: 50, ...options });
  onTestFinished(() => c.close());
  return c;
}

/** Records every delivered event and every state of a client. */
function record(c: BugzappClient): { events: LoggedEvent[]; states: ClientState[] } {
  const events: LoggedEvent[] = [];
  const states: ClientState[] = [];
  c.on('event', (e) => events.push(e));
  c.on('state', (s) => states.push(s));
  return { events, states };
}

/**
 * A `schedule` option under the test's control: the latest scheduled callback waits for `release()`
 * (the test decides when a reconnect happens).
 */
function heldSchedule(): { schedule: NonNullable<BugzappClientOptions['schedule']>; pending(): boolean; release(): void } {
  let held: (() => void) | undefined;
  return {
    schedule: (fn) => {
      held = fn;
      return () => (held = undefined);
    },
    pending: () => held !== undefined,
    release: () => {
      const fn = held;
      held = undefined;
      if (!fn) throw new Error('nothing scheduled');
      fn();
    },
  };
}

function rest(url: string, user = 'reporter-1', secret = TEST_SECRET) {
  const r = createRestClient({ url, tokenProvider: tokenFor(user, secret) });
  onTestFinished(() => r.close());
  return r;
}

describe('backoff and helpers', () => {
  it('doubles the ceiling per retry up to the cap, with full jitter', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffCeiling(a))).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(backoffCeiling(10, { baseMs: 1000, capMs: 30_000 })).toBe(30_000);
    expect(computeBackoff(3, { baseMs: 100 }, () => 0)).toBe(0);
    expect(computeBackoff(3, { baseMs: 100 }, () => 0.5)).toBe(200);
    expect(computeBackoff(3, { baseMs: 100 }, () => 0.999)).toBeLessThan(400);
  });

  it('builds the WebSocket URL from http, ws and full URLs', () => {
    expect(resolveWsUrl('http://127.0.0.1:8000')).toBe('ws://127.0.0.1:8000/ws');
    expect(resolveWsUrl('https://example.test/api/')).toBe('wss://example.test/api/ws');
    expect(resolveWsUrl('ws://127.0.0.1:9/ws?token=x')).toBe('ws://127.0.0.1:9/ws');
  });

  it('orders seqs only when their shape makes it evident', () => {
    expect(guessSeqOrder('0a0b0c0d-9', '0a0b0c0d-10')).toBeLessThan(0);
    expect(guessSeqOrder('1700000000001-0', '1700000000000-5')).toBeGreaterThan(0);
    expect(guessSeqOrder('1-2', '1-2-3')).toBeUndefined();
    expect(guessSeqOrder('12', '9')).toBeGreaterThan(0);
    expect(guessSeqOrder('aaaaaaaa-5', 'bbbbbbbb-1')).toBeUndefined();
    expect(guessSeqOrder('opaque', 'other')).toBeUndefined();
    expect(guessSeqOrder('3fa94c1e:1764146400000-3', '3fa94c1e:1764146400001-0')).toBeLessThan(0);
    expect(guessSeqOrder('3fa94c1e:1764146400000-3', '3fa94c1e:1764146400000-2')).toBeGreaterThan(0);
    expect(guessSeqOrder('3fa94c1e:1-3', '00000000:1-3')).toBeUndefined();
  });
});

describe.each(TRANSPORTS)('client against the reference server (%s transport)', (transport) => {
  const client = (options: BugzappClientOptions): BugzappClient => baseClient({ transport, ...options });
  it('connects, reports connection details and delivers events as emitter and iterator', async () => {
    const server = await startTestServer();
    const c = client({ url: server.url, tokenProvider: tokenFor(42) });
    const { events } = record(c);
    const iter = c.events();
    const info = await c.connect();
    expect(info.userId).toBe('42');
    expect(info.connectionId).toEqual(expect.any(String));
    expect(info.cursor).toEqual(expect.any(String));
    expect(c.rateLimit).toEqual({ max: 10, window_ms: 1000 });

    const created = await rest(server.url).createBugReport({ title: 'Crash on login', assignee_id: '42' });
    await until(c, 'event', () => events.length >= 2);
    expect(events.map((e) => e.type).sort()).toEqual(['bug_report', 'notification']);
    const first = await iter.next();
    expect(first.done).toBe(false);
    expect(first.value!.receivedAt).toEqual(expect.any(Number));
    expect([first.value!.event.type]).toContain(events[0]!.type);
    expect(c.lastSeq).toBe(events[1]!.seq);
    expect(events.find((e) => e.type === 'bug_report')!.payload).toMatchObject({ id: created.id });

    expect(c.send({ type: 'ping' })).toBe(true);
    await waitForEvent(c, 'message', (m: { type: string }) => m.type === 'pong');
    await c.close();
    expect(c.state.state).toBe('closed');
    // the iterator drains what was queued, then ends
    const rest2: string[] = [];
    for await (const r of iter) rest2.push(r.event.type);
    expect(rest2).toEqual([events[1]!.type]);
  });

  it('resumes after drops with since: every event exactly once, in order, replay counted', async () => {
    const server = await startTestServer();
    const proxy = await startDropProxy(server.url);
    // the reconnect waits until the missed events were fired: each must then come back by replay
    const reconnect = heldSchedule();
    const c = client({ url: proxy.url, tokenProvider: tokenFor(7), maxRetries: 0, schedule: reconnect.schedule });
    const { events } = record(c);
    const resumed: number[] = [];
    c.on('resumed', (r) => resumed.push(r.replayed));
    await c.connect();
    const api = rest(server.url);
    let fired = 0;
    for (let round = 0; round < 3; round++) {
      await api.createBugReport({ title: `live ${round}` });
      fired++;
      const received = events.length + 1;
      await until(c, 'event', () => events.length >= received);
      const down = waitForEvent(c, 'state', (s: ClientState) => s.state === 'reconnecting');
      expect(proxy.dropAll()).toBeGreaterThan(0);
      await down;
      // fired while the client is away: a bug report, its notification and another bug report
      await api.createBugReport({ title: `missed ${round}a`, assignee_id: '7' });
      await api.createBugReport({ title: `missed ${round}b` });
      fired += 2;
      const back = waitForEvent(c, 'resumed');
      reconnect.release();
      await back;
    }
    // bug_report for each create, plus one notification per `a` report
    await until(c, 'event', () => events.length >= fired + 3);
    const seqNums = events.map((e) => Number(e.seq!.split('-')[1]));
    expect(new Set(events.map((e) => e.seq)).size).toBe(events.length);
    expect(seqNums).toEqual([...seqNums].sort((a, b) => a - b));
    expect(events.filter((e) => e.type === 'bug_report')).toHaveLength(fired);
    expect(events.filter((e) => e.type === 'notification')).toHaveLength(3);
    expect(c.connections).toBe(4);
    // each resume replayed exactly the three events fired while away
    expect(resumed).toEqual([3, 3, 3]);
  });

  it('server.dropConnection cuts only that connection; its client resumes what was fired meanwhile', async () => {
    const server = await startTestServer();
    const reconnect = heldSchedule();
    const c = client({ url: server.url, tokenProvider: tokenFor(8), schedule: reconnect.schedule });
    const other = client({ url: server.url, tokenProvider: tokenFor(9) });
    const { events } = record(c);
    const info = await c.connect();
    await other.connect();
    const down = waitForEvent<[ClientState]>(c, 'state', (s: ClientState) => s.state === 'reconnecting');
    expect(server.dropConnection(info.connectionId!)).toBe(true);
    expect(server.dropConnection('c-no-such-connection')).toBe(false);
    const [state] = await down;
    expect(state).toMatchObject({ state: 'reconnecting', attempt: 1 });
    await rest(server.url).createBugReport({ title: 'while away', assignee_id: '8' });
    const resumed = waitForEvent<[{ replayed: number }]>(c, 'resumed');
    reconnect.release();
    expect((await resumed)[0].replayed).toBe(2);
    expect(events.map((e) => e.type)).toEqual(['bug_report', 'notification']);
    expect(other.isOpen).toBe(true);
    expect(other.connections).toBe(1);
  });

  it('reports resume window exceeded when the server no longer holds since', async () => {
    const server = await startTestServer({ history: 2 });
    const proxy = await startDropProxy(server.url);
    const reconnect = heldSchedule();
    const c = client({ url: proxy.url, tokenProvider: tokenFor(5), schedule: reconnect.schedule });
    const { events } = record(c);
    await c.connect();
    const api = rest(server.url);
    await api.createBugReport({ title: 'seen' });
    await until(c, 'event', () => events.length === 1);
    const down = waitForEvent(c, 'state', (s: ClientState) => s.state === 'reconnecting');
    proxy.dropAll();
    await down;
    for (let i = 0; i < 4; i++) await api.createBugReport({ title: `lost ${i}` });
    const exceeded = waitForEvent<[{ since: string; oldest: string | undefined }]>(c, 'resume-window-exceeded');
    expect(reconnect.pending()).toBe(true);
    reconnect.release();
    const [info] = await exceeded;
    expect(info.since).toBe(events[0]!.seq);
    expect(info.oldest).toEqual(expect.any(String));
    // live events continue after the gap
    await api.createBugReport({ title: 'after' });
    await until(c, 'event', () => events.some((e) => e.type === 'bug_report' && e.payload.title === 'after'));
  });

  it('never retries a refused token: AuthError with the server detail', async () => {
    const server = await startTestServer();
    const c = client({ url: server.url, tokenProvider: tokenFor(1, 'not-the-secret') });
    const { states } = record(c);
    const err = await c.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe('ERR_AUTH_REFUSED');
    expect((err as AuthError).message).toContain('403');
    expect((err as AuthError).message).toContain('Invalid authentication token');
    expect(states.filter((s) => s.state === 'connecting')).toHaveLength(1);
    expect(states.some((s) => s.state === 'reconnecting')).toBe(false);
    expect(await c.waitClosed()).toEqual({ error: err });
  });

  it('gives up with ERR_RETRIES_EXHAUSTED after maxRetries failed attempts', async () => {
    const port = await freePort();
    const c = client({ url: `http://127.0.0.1:${port}`, token: 'x', maxRetries: 3 });
    const { states } = record(c);
    const err = await c.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe('ERR_RETRIES_EXHAUSTED');
    const retries = states.filter((s) => s.state === 'reconnecting');
    expect(retries.map((s) => (s as { attempt: number }).attempt)).toEqual([1, 2, 3]);
    expect(retries.every((s) => (s as { max: number }).max === 3)).toBe(true);
  });

  it('exhausts maxRetries against a server that accepts every upgrade and closes it at once (1011)', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
    await once(wss, 'listening');
    let accepted = 0;
    wss.on('connection', (ws) => {
      accepted++;
      ws.close(1011, 'internal error');
    });
    const c = client({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, token: 't', maxRetries: 2 });
    const err = await c.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED', closeCode: 1011 });
    expect(accepted).toBe(3);
  });

  it('asks the token provider again on each reconnect (4001 gets a fresh token)', async () => {
    let now = Date.now();
    const server = await startTestServer({ clock: () => now, tickMs: 10 });
    let minted = 0;
    const c = client({
      url: server.url,
      tokenProvider: () => {
        minted++;
        return mintTokenSync({ userId: 3, secret: TEST_SECRET, ttlSeconds: 60, now: now / 1000 });
      },
    });
    await c.connect();
    const reconnecting = waitForEvent<[ClientState]>(c, 'state', (s: ClientState) => s.state === 'reconnecting');
    now += 120_000; // the token's exp passes on the server's clock
    const [state] = await reconnecting;
    expect(state).toMatchObject({ state: 'reconnecting', closeCode: 4001 });
    await waitForEvent(c, 'connected');
    expect(minted).toBe(2);
  });

  it('REST client: resources, 404 and 422 as HttpStatusError with the detail', async () => {
    const server = await startTestServer();
    const api = rest(server.url);
    expect(await api.health()).toMatchObject({ status: 'ok' });
    const r = await api.createBugReport({ title: 'T', severity: 'high', assignee_id: '9' });
    expect(r).toMatchObject({ title: 'T', severity: 'high', assignee_id: '9', status: 'open' });
    expect(await api.updateBugReport(r.id, { status: 'resolved' })).toMatchObject({ id: r.id, status: 'resolved' });
    expect(await api.createComment(r.id, { body: 'on it' })).toMatchObject({ bug_report_id: r.id, body: 'on it' });
    expect((await api.listBugReports()).map((b) => b.id)).toContain(r.id);
    await api.deleteBugReport(r.id);
    const notFound = await api.getBugReport(r.id).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(HttpStatusError);
    expect((notFound as HttpStatusError).status).toBe(404);
    const invalid = await api.createBugReport({ title: '' }).catch((e: unknown) => e);
    expect((invalid as HttpStatusError).status).toBe(422);
    expect(JSON.stringify((invalid as HttpStatusError).detail)).toContain('title');
    const anon = createRestClient({ url: server.url });
    onTestFinished(() => anon.close());
    expect(((await anon.listBugReports().catch((e: unknown) => e)) as HttpStatusError).status).toBe(401);
  });
});

describe.each(TRANSPORTS)('client against servers without resume (%s transport)', (transport) => {
  const client = (options: BugzappClientOptions): BugzappClient => baseClient({ transport, ...options });
  it('guide-like server: reconnects after drops and says once that resume is unsupported', async () => {
    const guide = await startGuideServer({ secret: TEST_SECRET });
    onTestFinished(() => guide.close());
    const c = client({ url: guide.url, tokenProvider: tokenFor(42) });
    const { events } = record(c);
    let unsupported = 0;
    c.on('resume-unsupported', () => unsupported++);
    const info = await c.connect();
    expect(info.cursor).toBeUndefined();
    for (let i = 1; i <= 2; i++) {
      const back = waitForEvent(c, 'connected');
      expect(guide.dropAll()).toBe(1);
      await back;
    }
    expect(c.connections).toBe(3);
    expect(unsupported).toBe(1);
    expect(c.resumeSupported).toBe(false);
    const api = rest(guide.url);
    await api.createBugReport({ title: 'no seq here', assignee_id: '42' });
    await until(c, 'event', () => events.length === 2);
    expect(events.every((e) => e.seq === undefined)).toBe(true);
    const patch = await api.updateBugReport(1, { status: 'closed' }).catch((e: unknown) => e);
    expect((patch as HttpStatusError).status).toBe(405);
  });

  it('a handshake answered 404 (wrong path) fails at once with ERR_CONNECT_FAILED', async () => {
    const guide = await startGuideServer({ secret: TEST_SECRET });
    onTestFinished(() => guide.close());
    const c = client({ url: `${guide.url}/api`, tokenProvider: tokenFor(42) });
    const { states } = record(c);
    const err = await c.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CONNECT_FAILED' });
    expect((err as Error).message).toContain('HTTP 404');
    expect(states.some((s) => s.state === 'reconnecting')).toBe(false);
  });

  it('drops events it already has when a server replays an overlap', async () => {
    // a server that replays one event too many after a resume (overlapping `since`)
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise((r) => wss.once('listening', r));
    const sinces: (string | null)[] = [];
    const ev = (n: number) => encode({ type: 'comment', action: 'created', seq: `e-${n}`, payload: { id: n, bug_report_id: 1, author_id: 'a', body: 'b', created_at: '2026-01-01T00:00:00Z' } });
    wss.on('connection', (ws, req) => {
      const since = new URL(req.url!, 'http://x').searchParams.get('since');
      sinces.push(since);
      if (since === null) {
        ws.send(encode({ type: 'connection_established', payload: { cursor: 'e-0' } }));
        ws.send(ev(1));
        ws.send(ev(2));
      } else {
        ws.send(encode({ type: 'connection_established', payload: { cursor: 'e-3' } }));
        ws.send(ev(1));
        ws.send(ev(2));
        ws.send(ev(3));
      }
    });
    const port = (wss.address() as AddressInfo).port;
    const c = client({ url: `ws://127.0.0.1:${port}`, token: 't' });
    const { events } = record(c);
    const dups: string[] = [];
    c.on('duplicate', (e) => dups.push(e.seq!));
    await c.connect();
    await until(c, 'event', () => events.length === 2);
    for (const ws of wss.clients) ws.terminate();
    const [resumed] = await waitForEvent<[{ replayed: number }]>(c, 'resumed');
    expect(sinces).toEqual([null, 'e-2']);
    expect(events.map((e) => e.seq)).toEqual(['e-1', 'e-2', 'e-3']);
    expect(dups).toEqual(['e-1', 'e-2']);
    expect(resumed.replayed).toBe(1);
  });

  it('a server that never sends connection_established: connected after the wait, resume unsupported', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise((r) => wss.once('listening', r));
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      // the second connection gets an event straight away: it stands in for connection_established
      if (connections === 2) ws.send(encode({ type: 'notification', payload: { message: 'm', bug_report_id: 1 } }));
    });
    const waits: (() => void)[] = [];
    const c = client({
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      token: 't',
      establishWaitMs: 777,
      // the establish wait is the only thing scheduled while connected; run it when the test says
      schedule: (fn, ms) => {
        if (ms === 777) waits.push(fn);
        else setImmediate(fn);
        return () => undefined;
      },
    });
    const { events } = record(c);
    let unsupported = 0;
    c.on('resume-unsupported', () => unsupported++);
    const connected = c.connect();
    await waitForEvent(c, 'state', (s: ClientState) => s.state === 'open');
    expect(waits).toHaveLength(1);
    waits[0]!();
    const info = await connected;
    expect(info.cursor).toBeUndefined();
    expect(unsupported).toBe(1);
    const again = waitForEvent(c, 'connected');
    for (const ws of wss.clients) ws.terminate();
    await again;
    await until(c, 'event', () => events.length === 1);
    expect(c.connections).toBe(2);
  });

  it('a connection_established later than establishWaitMs still brings resume: the reconnect sends since', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise((r) => wss.once('listening', r));
    const sinces: (string | null)[] = [];
    const sockets: WebSocket[] = [];
    wss.on('connection', (ws, req) => {
      sinces.push(new URL(req.url!, 'http://x').searchParams.get('since'));
      sockets.push(ws);
      if (sockets.length > 1) ws.send(encode({ type: 'connection_established', payload: { cursor: 's-6' } }));
    });
    const c = client({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, token: 't', establishWaitMs: 10 });
    const { events } = record(c);
    const unsupported = waitForEvent(c, 'resume-unsupported');
    await c.connect();
    await unsupported;
    // the slow server's connection_established, then an event
    sockets[0]!.send(encode({ type: 'connection_established', payload: { cursor: 's-5' } }));
    sockets[0]!.send(encode({ type: 'notification', payload: { message: 'm', bug_report_id: 1 }, seq: 's-6' }));
    await until(c, 'event', () => events.length === 1);
    expect(c.resumeSupported).toBe(true);
    const again = waitForEvent(c, 'connected');
    sockets[0]!.close(1001);
    await again;
    expect(sinces).toEqual([null, 's-6']);
  });

  it('survives a numeric cursor and a seq that is not a string or a number (resumes with the decimal string)', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise((r) => wss.once('listening', r));
    const sinces: (string | null)[] = [];
    const send = (ws: WebSocket, msg: Record<string, unknown>): void => ws.send(JSON.stringify(msg));
    wss.on('connection', (ws, req) => {
      const since = new URL(req.url!, 'http://x').searchParams.get('since');
      sinces.push(since);
      const note = (seq: unknown) => ({ type: 'notification', payload: { message: 'm', bug_report_id: 1 }, seq });
      if (since === null) {
        send(ws, { type: 'connection_established', payload: { cursor: 5 } });
        send(ws, note(6));
        ws.close(1001);
      } else {
        send(ws, { type: 'connection_established', payload: { cursor: 8 } });
        send(ws, note(7));
        send(ws, note({ not: 'a seq' }));
        send(ws, note(8));
      }
    });
    const c = client({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, token: 't' });
    const { events } = record(c);
    const resumed = waitForEvent<[{ replayed: number }]>(c, 'resumed');
    await c.connect();
    expect((await resumed)[0].replayed).toBe(2);
    await until(c, 'event', () => events.length === 4);
    expect(sinces).toEqual([null, '6']);
    expect(c.lastSeq).toBe('8');
  });

  it.each([1008, 1009])('stops on %i without reconnecting', async (code) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise((r) => wss.once('listening', r));
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.send(encode({ type: 'connection_established' }));
      ws.close(code, 'go away');
    });
    const c = client({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, token: 't' });
    await c.connect();
    const { error } = await c.waitClosed();
    expect(error).toBeInstanceOf(ClientError);
    expect(error!.code).toBe('ERR_CLOSED');
    expect((error as ClientError).closeCode).toBe(code);
    expect(connections).toBe(1);
    await expect(c.connect()).resolves.toBeDefined(); // the first connect had resolved; it stays resolved
    const late = createClient({ url: 'ws://127.0.0.1:1', token: 't' });
    await late.close();
    await expect(late.connect()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it.each([1001, 4008, 1000])('reconnects after %i and resumes with since', async (code) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise((r) => wss.once('listening', r));
    const sinces: (string | null)[] = [];
    wss.on('connection', (ws, req) => {
      const since = new URL(req.url!, 'http://x').searchParams.get('since');
      sinces.push(since);
      ws.send(encode({ type: 'connection_established', payload: { cursor: since === null ? 's-0' : 's-1' } }));
      if (since === null) {
        ws.send(encode({ type: 'notification', payload: { message: 'm', bug_report_id: 1 }, seq: 's-1' }));
        ws.close(code);
      }
    });
    const c = client({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, token: 't' });
    const { states } = record(c);
    await c.connect();
    await waitForEvent(c, 'connected');
    expect(sinces).toEqual([null, 's-1']);
    expect(states.find((s) => s.state === 'reconnecting')).toMatchObject({ closeCode: code, attempt: 1 });
  });
});
