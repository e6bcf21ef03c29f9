// The client and `bugzapp listen` against the guide's real FastAPI server (Python), when it can run here.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createClient, createRestClient, type BugzappClient } from '../../src/client/index.ts';
import { AuthError } from '../../src/errors.ts';
import { mintTokenSync, type LoggedEvent } from '../../src/protocol/index.ts';
import { fastApiUnavailableReason, startFastApiGuideServer } from '../../fixtures/servers/fastapi-guide.ts';
import { startDropProxy } from './drop-proxy.ts';
import { until, waitForEvent } from '../helpers/events.ts';

const SECRET = 'fastapi-guide-test-secret';
const unavailable = fastApiUnavailableReason();

describe.skipIf(unavailable !== undefined)(`the guide's FastAPI server${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  async function start() {
    const server = await startFastApiGuideServer({ secret: SECRET });
    onTestFinished(() => server.close());
    return server;
  }

  function client(url: string, secret = SECRET, transport: 'ws' | 'lean' = 'ws'): BugzappClient {
    const c = createClient({ url, tokenProvider: () => mintTokenSync({ userId: 42, secret }), backoffBaseMs: 10, transport });
    onTestFinished(() => c.close());
    return c;
  }

  it('connects, is told resume is unsupported, reconnects after drops and receives events', async () => {
    const server = await start();
    const proxy = await startDropProxy(server.url);
    const c = client(proxy.url);
    const events: LoggedEvent[] = [];
    c.on('event', (e) => events.push(e));
    let unsupported = 0;
    c.on('resume-unsupported', () => unsupported++);
    const info = await c.connect();
    expect(info.cursor).toBeUndefined();
    for (let i = 0; i < 2; i++) {
      const back = waitForEvent(c, 'connected');
      expect(proxy.dropAll()).toBe(1);
      await back;
    }
    expect(unsupported).toBe(1);
    expect(c.connections).toBe(3);
    const rest = createRestClient({ url: server.url });
    onTestFinished(() => rest.close());
    const created = await rest.createBugReport({ title: 'from the harness', assignee_id: '42' });
    await until(c, 'event', () => events.length >= 2);
    expect(events.map((e) => e.type)).toEqual(['bug_report', 'notification']);
    expect(events[0]!.payload).toMatchObject({ id: created.id, title: 'from the harness' });
    expect(events.every((e) => e.seq === undefined)).toBe(true);
  });

  it('a refused token is an AuthError, not a retry loop', async () => {
    const server = await start();
    const c = client(server.url, 'wrong-secret');
    const states: string[] = [];
    c.on('state', (s) => states.push(s.state));
    const err = await c.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe('ERR_AUTH_REFUSED');
    expect((err as AuthError).message).toContain('403');
    expect(states).not.toContain('reconnecting');
  });

  it('the lean transport: events from uvicorn, and its 403 refusal read as an AuthError with the status', async () => {
    const server = await start();
    const c = client(server.url, SECRET, 'lean');
    const events: LoggedEvent[] = [];
    c.on('event', (e) => events.push(e));
    await c.connect();
    const rest = createRestClient({ url: server.url });
    onTestFinished(() => rest.close());
    const created = await rest.createBugReport({ title: 'lean from the harness', assignee_id: '42' });
    await until(c, 'event', () => events.length >= 2);
    expect(events.map((e) => e.type)).toEqual(['bug_report', 'notification']);
    expect(events[0]!.payload).toMatchObject({ id: created.id, title: 'lean from the harness' });
    const refused = client(server.url, 'wrong-secret', 'lean');
    const err = await refused.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe('ERR_AUTH_REFUSED');
    expect((err as AuthError).message).toContain('403');
  });
});
