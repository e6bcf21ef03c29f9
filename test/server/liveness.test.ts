// The one housekeeping timer: heartbeat termination, token expiry (4001), slow consumers (4008).
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { BugReport } from '../../src/protocol/index.ts';
import { waitForClose } from '../helpers/ws.ts';
import { connectClient, metricValue, startTestServer } from '../helpers/server.ts';

const PING = JSON.stringify({ type: 'ping' });

function bugReport(id: number, title: string, size: number): BugReport {
  const at = new Date().toISOString();
  return {
    id,
    title,
    description: 'x'.repeat(size),
    severity: 'low',
    status: 'open',
    assignee_id: null,
    reporter_id: 'bench',
    created_at: at,
    updated_at: at,
  };
}

describe('heartbeat', () => {
  it('terminates a peer that does not answer pings and keeps one that does', async () => {
    const server = await startTestServer({ heartbeatIntervalMs: 50, tickMs: 25 });
    const gone = once(server.events, 'disconnect');
    const dead = await connectClient(server, 'dead', {}, { autoPong: false });
    const live = await connectClient(server, 'live');
    let pings = 0;
    const threePings = new Promise<void>((resolve) =>
      live.ws.on('ping', () => {
        if (++pings === 3) resolve();
      }),
    );
    const closed = await waitForClose(dead.ws);
    expect(closed.code).toBe(1006);
    const [info] = await gone;
    expect(info).toMatchObject({ userId: 'dead', reason: 'no pong' });
    await threePings;
    live.ws.send(PING);
    await live.recorder.waitFor((m) => m.type === 'pong');
    expect(await metricValue(server, 'websocket_heartbeat_terminations_total')).toBe(1);
  });
});

describe('token expiry', () => {
  it('closes a connection with 4001 when its token expires, and only that one', async () => {
    let now = Date.now();
    const server = await startTestServer({ clock: () => now, tickMs: 20 });
    const nowSec = Math.floor(now / 1000);
    const short = await connectClient(server, 'short', {}, {}, { ttlSeconds: 60, now: nowSec });
    const long = await connectClient(server, 'long', {}, {}, { ttlSeconds: 3600, now: nowSec });
    const closed = waitForClose(short.ws);
    now += 61_000;
    expect(await closed).toEqual({ code: 4001, reason: 'token expired' });
    long.ws.send(PING);
    await long.recorder.waitFor((m) => m.type === 'pong');
    expect(await metricValue(server, 'websocket_token_expiry_closes_total')).toBe(1);
  });
});

describe('slow consumer', () => {
  it('closes a client that stops reading with 4008 and stops sending to it, while others receive everything', async () => {
    const server = await startTestServer({ slowConsumerLimit: 64 * 1024, closeGraceMs: 20_000, tickMs: 50 });
    const slow = await connectClient(server, 'slow');
    const fast = await connectClient(server, 'fast');
    const socket = (slow.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    let flagged = false;
    const slowFlagged = once(server.events, 'slow_consumer').then(([info]) => {
      flagged = true;
      return info;
    });
    let published = 0;
    // bounded: 600 x 50 KB is far more than the loopback buffers hold
    for (let i = 1; i <= 600 && !flagged; i++) {
      await server.backends.engine.publish({ type: 'bug_report', action: 'created', payload: bugReport(i, `e${i}`, 50_000) }, null);
      published = i;
      await new Promise((r) => setImmediate(r));
    }
    expect(await slowFlagged).toMatchObject({ userId: 'slow' });
    // nothing more is sent to it
    for (let i = 1; i <= 5; i++) {
      await server.backends.engine.publish({ type: 'bug_report', action: 'created', payload: bugReport(1000 + i, `after${i}`, 10) }, null);
    }
    await fast.recorder.waitFor((m) => m.type === 'bug_report' && m.payload.title === 'after5');
    expect(fast.recorder.ofType('bug_report')).toHaveLength(published + 5);

    const closed = waitForClose(slow.ws);
    socket.resume();
    expect((await closed).code).toBe(4008);
    const got = slow.recorder.ofType('bug_report');
    // what was queued before the close frame still arrives (the client resumes from its last seq)
    expect(got).toHaveLength(published);
    expect(got.some((m) => m.payload.title.startsWith('after'))).toBe(false);
    expect(await metricValue(server, 'websocket_slow_consumer_disconnects_total')).toBe(1);
  });

  it('closes a client that floods requests but never reads the answers, instead of buffering them without bound', async () => {
    const server = await startTestServer({ slowConsumerLimit: 16 * 1024, closeGraceMs: 100, tickMs: 20 });
    const flooder = await connectClient(server, 'flooder');
    (flooder.ws as unknown as { _socket: Socket })._socket.pause();
    let flagged = false;
    const slowFlagged = once(server.events, 'slow_consumer').then(([info]) => {
      flagged = true;
      return info;
    });
    // every frame gets an answer ("Rate limit exceeded" past the first 10); bounded: 400 x 2,000 answers
    // of ~60 bytes are far more than the loopback buffers hold
    for (let round = 0; round < 400 && !flagged; round++) {
      for (let i = 0; i < 2000; i++) flooder.ws.send('{"type":"ping"}');
      await new Promise((r) => setImmediate(r));
    }
    expect(flagged).toBe(true);
    expect(await slowFlagged).toMatchObject({ userId: 'flooder' });
    expect(await metricValue(server, 'websocket_slow_consumer_disconnects_total')).toBe(1);
  });

  it('terminates a stalled consumer that never reads the close frame', async () => {
    // held for up to a heartbeat interval while its close frame is still unsent (the next test): a short one here
    const server = await startTestServer({ slowConsumerLimit: 16 * 1024, closeGraceMs: 100, heartbeatIntervalMs: 300, tickMs: 20 });
    const slow = await connectClient(server, 'slow');
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const gone = once(server.events, 'disconnect');
    let closed = false;
    void gone.then(() => (closed = true));
    for (let i = 1; i <= 600 && !closed; i++) {
      await server.backends.engine.publish({ type: 'bug_report', action: 'created', payload: bugReport(i, `e${i}`, 50_000) }, null);
      await new Promise((r) => setImmediate(r));
    }
    const [info] = await gone;
    expect(info).toMatchObject({ userId: 'slow', reason: 'slow consumer' });
    expect(server.connectionCount()).toBe(0);
  });

  it('tells a slow consumer 4008 when it reads again after the close grace: its close frame is not dropped with the unsent bytes', async () => {
    // the close grace is short and the heartbeat long: the close frame waits behind unsent bytes for the heartbeat
    const server = await startTestServer({ slowConsumerLimit: 16 * 1024, closeGraceMs: 100, heartbeatIntervalMs: 20_000, tickMs: 20 });
    const slow = await connectClient(server, 'slow');
    const socket = (slow.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    let flagged = false;
    const slowFlagged = once(server.events, 'slow_consumer').then(() => (flagged = true));
    let published = 0;
    // notifications for the slow user alone: nothing queues up anywhere else
    for (let i = 1; i <= 2000 && !flagged; i++) {
      await server.backends.engine.publish({ type: 'notification', payload: { message: `n${i} ${'x'.repeat(20_000)}`, bug_report_id: i } }, 'slow');
      published = i;
      await new Promise((r) => setImmediate(r));
    }
    await slowFlagged;
    // a witness closed after it (token expiry, 4001) that never answers the close frame either, with nothing
    // unsent: once the sweep has terminated the witness, the slow consumer's close grace is over too
    const witness = await connectClient(server, 'witness', {}, {}, { ttlSeconds: 1 });
    (witness.ws as unknown as { _socket: Socket })._socket.pause();
    const [gone] = (await once(server.events, 'disconnect')) as [{ userId: string; code: number }];
    expect(gone.userId).toBe('witness');
    expect(server.connectionCount()).toBe(1);

    const closed = waitForClose(slow.ws);
    socket.resume();
    expect((await closed).code).toBe(4008);
    // everything written before the close frame arrives first (the client resumes from its last seq)
    expect(slow.recorder.ofType('notification').length).toBe(published);
  });
});
