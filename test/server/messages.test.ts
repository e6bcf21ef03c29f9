// protocol.md sections 3 to 5: connection_established first, routing, ping/pong, bad frames, 1009.
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { MemoryEventEngine, MemoryStore, SlidingWindowRateLimiter } from '../../src/server/index.ts';
import type { ConnectionEstablished, NotificationEvent } from '../../src/protocol/index.ts';
import { MessageRecorder, waitForClose } from '../helpers/ws.ts';
import { connectClient, metricValue, rest, startTestServer, testToken } from '../helpers/server.ts';

/** The real engine whose cursor() waits for the test, like a Redis round trip that takes its time. */
class SlowCursorEngine extends MemoryEventEngine {
  release!: () => void;
  private readonly gate = new Promise<void>((r) => (this.release = r));
  override async cursor(): Promise<string> {
    await this.gate;
    return super.cursor();
  }
}

describe('connection start', () => {
  it('sends connection_established first, with user_id, connection_id, server_time, rate_limit and cursor', async () => {
    const server = await startTestServer({ rateLimit: { max: 7, windowMs: 500 } });
    const { recorder } = await connectClient(server, 42);
    const first = recorder.messages[0] as ConnectionEstablished;
    expect(first.type).toBe('connection_established');
    expect(first.payload).toMatchObject({ user_id: '42', rate_limit: { max: 7, window_ms: 500 } });
    expect(first.payload?.connection_id).toMatch(/^c-/);
    expect(Number.isNaN(Date.parse(first.payload?.server_time ?? ''))).toBe(false);
    expect(server.backends.engine.isValidSeq(first.payload?.cursor ?? '')).toBe(true);
    expect(await metricValue(server, 'websocket_active_connections')).toBe(1);
  });

  it('sends connection_established before answering anything the client sent first', async () => {
    const engine = new SlowCursorEngine();
    const server = await startTestServer({
      backends: { engine, store: new MemoryStore(), rateLimiter: new SlidingWindowRateLimiter(10, 1000), kind: 'memory' },
    });
    const ws = new WebSocket(`${server.wsUrl}?token=${await testToken('eager')}`);
    onTestFinished(() => ws.terminate());
    const recorder = new MessageRecorder(ws);
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await new Promise<void>((resolve) => ws.send(JSON.stringify({ type: 'ping' }), () => resolve()));
    expect((await rest(server, 'GET', '/healthz', null)).status).toBe(200); // the server has run its IO since
    engine.release();
    await recorder.waitFor((m) => m.type === 'pong');
    expect(recorder.messages.map((m) => m.type)).toEqual(['connection_established', 'pong']);
  });

  it('gives every connection its own id and the cursor of the newest event', async () => {
    const server = await startTestServer();
    const a = await connectClient(server, 1);
    expect((await rest(server, 'POST', '/bug-reports/', 1, { title: 'one' })).status).toBe(201);
    const ev = await a.recorder.waitFor((m) => m.type === 'bug_report');
    const b = await connectClient(server, 1);
    const ea = a.recorder.messages[0] as ConnectionEstablished;
    const eb = b.recorder.messages[0] as ConnectionEstablished;
    expect(ea.payload?.connection_id).not.toBe(eb.payload?.connection_id);
    expect(eb.payload?.cursor).toBe((ev as { seq?: string }).seq);
  });
});

describe('routing', () => {
  it('sends bug_report and comment to everyone and a notification only to its user', async () => {
    const server = await startTestServer();
    const alice1 = await connectClient(server, 'alice');
    const alice2 = await connectClient(server, 'alice');
    const bob = await connectClient(server, 'bob');
    const created = await rest(server, 'POST', '/bug-reports/', 'bob', { title: 'Crash', assignee_id: 'alice' });
    expect(created.status).toBe(201);
    const id = (created.body as { id: number }).id;
    // a comment by bob notifies alice (the assignee) again; one marker comment closes the sequence
    expect((await rest(server, 'POST', `/bug-reports/${id}/comments/`, 'bob', { body: 'seen' })).status).toBe(201);
    for (const c of [alice1, alice2, bob]) {
      await c.recorder.waitFor((m) => m.type === 'comment');
      expect(c.recorder.ofType('bug_report')).toHaveLength(1);
    }
    for (const a of [alice1, alice2]) {
      const notes = await a.recorder.waitForCount((m) => m.type === 'notification', 2);
      expect((notes[0] as NotificationEvent).payload).toEqual({ message: 'New bug report assigned: Crash', bug_report_id: id });
    }
    // barrier: a bug report published after everything above; once bob has it, any notification that
    // went to him has arrived too (a connection gets events in log order)
    expect((await rest(server, 'POST', '/bug-reports/', 'carol', { title: 'barrier' })).status).toBe(201);
    await bob.recorder.waitFor((m) => m.type === 'bug_report' && m.payload.title === 'barrier');
    expect(bob.recorder.ofType('notification')).toHaveLength(0);
    expect(await metricValue(server, 'websocket_messages_total', { type: 'notification' })).toBe(4);
    // the report and the barrier, to three connections each
    expect(await metricValue(server, 'websocket_messages_total', { type: 'bug_report' })).toBe(6);
  });
});

describe('client messages', () => {
  it('answers ping with pong', async () => {
    const server = await startTestServer();
    const { ws, recorder } = await connectClient(server, 1);
    ws.send(JSON.stringify({ type: 'ping' }));
    await recorder.waitFor((m) => m.type === 'pong');
  });

  const bad: [string, string | Buffer, string, string, string][] = [
    ['not JSON', 'hello', 'Invalid message format', 'invalid_format', 'invalid_message'],
    ['a JSON array', '[1,2]', 'Invalid message format', 'invalid_format', 'invalid_message'],
    ['a JSON string', '"ping"', 'Invalid message format', 'invalid_format', 'invalid_message'],
    ['an object without type', '{"kind":"ping"}', 'Invalid message format', 'invalid_format', 'invalid_message'],
    ['a binary frame', Buffer.from('{"type":"ping"}'), 'Invalid message format', 'binary', 'invalid_message'],
    ['an unknown type', '{"type":"subscribe"}', 'Unknown message type: subscribe', 'unknown_type', 'unknown_type'],
  ];
  for (const [name, frame, text, reason, code] of bad) {
    it(`answers ${name} with an error and keeps the connection`, async () => {
      const server = await startTestServer();
      const { ws, recorder } = await connectClient(server, 1);
      ws.send(frame, { binary: Buffer.isBuffer(frame) });
      const err = await recorder.waitFor((m) => m.type === 'error');
      expect(err).toEqual({ type: 'error', payload: { message: text, code } });
      ws.send(JSON.stringify({ type: 'ping' }));
      await recorder.waitFor((m) => m.type === 'pong');
      expect(await metricValue(server, 'websocket_invalid_messages_total', { reason })).toBe(1);
    });
  }

  it('closes with 1007 a text frame that is not UTF-8, counts it, and keeps serving', async () => {
    const server = await startTestServer();
    const bad = await connectClient(server, 1);
    const closed = waitForClose(bad.ws);
    // ws validates outgoing text only when asked; send raw invalid bytes as a text frame
    bad.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await closed).code).toBe(1007);
    expect(await metricValue(server, 'websocket_invalid_messages_total', { reason: 'protocol_error' })).toBe(1);
    const next = await connectClient(server, 2);
    next.ws.send(JSON.stringify({ type: 'ping' }));
    await next.recorder.waitFor((m) => m.type === 'pong');
  });

  it('closes with 1009 a frame over maxPayload, and other connections stay', async () => {
    const server = await startTestServer({ maxPayload: 1024 });
    const big = await connectClient(server, 1);
    const other = await connectClient(server, 2);
    const closed = waitForClose(big.ws);
    big.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(2000) }));
    expect((await closed).code).toBe(1009);
    other.ws.send(JSON.stringify({ type: 'ping' }));
    await other.recorder.waitFor((m) => m.type === 'pong');
    expect(await metricValue(server, 'websocket_invalid_messages_total', { reason: 'too_big' })).toBe(1);
  });
});
