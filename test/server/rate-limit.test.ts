// protocol.md section 5: the exact sliding-window rate limit, per user across connections, with an
// injected clock.
import { describe, expect, it } from 'vitest';
import { SlidingWindowRateLimiter } from '../../src/server/index.ts';
import { connectClient, metricValue, startTestServer } from '../helpers/server.ts';

const PING = JSON.stringify({ type: 'ping' });
const isPong = (m: { type: string }) => m.type === 'pong';
const isLimited = (m: { type: string; payload?: unknown }) =>
  m.type === 'error' && (m.payload as { message?: string }).message === 'Rate limit exceeded';

describe('SlidingWindowRateLimiter', () => {
  it('passes max messages per window and frees a slot exactly windowMs after each pass', () => {
    const rl = new SlidingWindowRateLimiter(3, 1000);
    expect([rl.hit('u', 0), rl.hit('u', 100), rl.hit('u', 200)]).toEqual([true, true, true]);
    expect(rl.hit('u', 999)).toBe(false);
    expect(rl.hit('u', 1000)).toBe(true); // the pass at 0 left the window
    expect(rl.hit('u', 1099)).toBe(false);
    expect(rl.hit('u', 1100)).toBe(true);
    expect(rl.hit('other', 1100)).toBe(true);
  });

  it('does not count refused messages', () => {
    const rl = new SlidingWindowRateLimiter(1, 100);
    expect(rl.hit('u', 0)).toBe(true);
    for (let t = 1; t < 100; t++) expect(rl.hit('u', t)).toBe(false);
    expect(rl.hit('u', 100)).toBe(true);
  });

  it('forgets idle users when pruned', () => {
    const rl = new SlidingWindowRateLimiter(1, 100);
    rl.hit('u', 0);
    rl.prune(100);
    expect(rl.hit('u', 100)).toBe(true);
    expect(rl.hit('u', 150)).toBe(false);
  });
});

describe('rate limit over WebSocket', () => {
  it('passes N messages per user across two connections, refuses the next, keeps the connection, spares other users', async () => {
    let now = Date.now();
    const server = await startTestServer({ rateLimit: { max: 5, windowMs: 1000 }, clock: () => now });
    const a1 = await connectClient(server, 'a');
    const a2 = await connectClient(server, 'a');
    const b = await connectClient(server, 'b');

    for (let i = 0; i < 3; i++) a1.ws.send(PING);
    await a1.recorder.waitForCount(isPong, 3);
    a2.ws.send(PING);
    a2.ws.send('not json'); // invalid messages count too
    await a2.recorder.waitFor(isPong);
    await a2.recorder.waitFor((m) => m.type === 'error');
    // the sixth message of user a, on either connection, is refused
    a1.ws.send(PING);
    await a1.recorder.waitFor(isLimited);
    a2.ws.send(PING);
    await a2.recorder.waitForCount(isLimited, 1);
    expect(a1.recorder.ofType('pong')).toHaveLength(3);
    expect(a2.recorder.ofType('pong')).toHaveLength(1);

    // user b has a window of its own
    for (let i = 0; i < 5; i++) b.ws.send(PING);
    await b.recorder.waitForCount(isPong, 5);
    b.ws.send(PING);
    await b.recorder.waitFor(isLimited);

    // still inside the window one millisecond before it ends, free at its end; the connection stayed
    now += 999;
    a1.ws.send(PING);
    await a1.recorder.waitForCount(isLimited, 2);
    now += 1;
    a1.ws.send(PING);
    await a1.recorder.waitForCount(isPong, 4);
    expect(await metricValue(server, 'websocket_rate_limited_messages_total')).toBe(4);
  });
});
