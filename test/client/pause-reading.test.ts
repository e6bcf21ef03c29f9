// pauseReading()/resumeReading(): a client that stops reading its socket on purpose (a slow consumer,
// as `bugzapp load --slow` makes some) does not take its own silence for a lost line, and reads on, in
// order, what waited meanwhile.
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer } from 'ws';
import { createClient, type BugzappClient } from '../../src/client/index.ts';
import { encode } from '../../src/protocol/index.ts';

/** A server that advertises a 100 ms heartbeat and answers no ping: a watched line is lost in ~1.1 s. */
async function silentServer(): Promise<{ url: string; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
  onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.send(encode({ type: 'connection_established', payload: { cursor: 'e-0', heartbeat_ms: 100 } })));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, wss };
}

function client(url: string, transport: 'ws' | 'lean'): BugzappClient {
  const c = createClient({ url, token: 't', backoffBaseMs: 5, backoffCapMs: 50, transport });
  onTestFinished(() => c.close());
  return c;
}

const ev = (n: number): string =>
  encode({ type: 'comment', action: 'created', seq: `e-${n}`, payload: { id: n, bug_report_id: 1, author_id: 'a', body: 'b', created_at: '2026-01-01T00:00:00Z' } });

describe.each(['ws', 'lean'] as const)('pauseReading / resumeReading (%s transport)', (transport) => {
  it('a paused client does not take its silence for a lost line; resumed, it reads what waited, in order', async () => {
    const { url, wss } = await silentServer();
    const paused = client(url, transport);
    const witness = client(url, transport);
    const lost: string[] = [];
    paused.on('line-lost', () => lost.push('paused'));
    await paused.connect();
    await witness.connect();
    expect(paused.pauseReading()).toBe(true);
    const got: string[] = [];
    paused.on('event', (e) => got.push(e.seq!));
    for (const ws of wss.clients) for (let n = 1; n <= 3; n++) ws.send(ev(n));
    // the witness, reading, hears the events, then nothing: its line is lost after heartbeat + grace
    await new Promise<void>((resolve) => witness.once('line-lost', () => resolve()));
    expect(lost).toEqual([]);
    expect(got).toEqual([]);
    expect(paused.isOpen).toBe(true);
    expect(paused.resumeReading()).toBe(true);
    expect(paused.resumeReading()).toBe(false);
    await new Promise<void>((resolve) => paused.on('event', () => got.length === 3 && resolve()));
    expect(got).toEqual(['e-1', 'e-2', 'e-3']);
    // reading again, it watches the line again: the silent server loses it
    await new Promise<void>((resolve) => paused.once('line-lost', () => resolve()));
  });

  it('pauses only an open connection', async () => {
    const { url } = await silentServer();
    const c = client(url, transport);
    expect(c.pauseReading()).toBe(false);
    expect(c.resumeReading()).toBe(false);
  });
});
