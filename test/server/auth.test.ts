// protocol.md section 2: every refused handshake gets 403 + JSON body before any upgrade; REST gets 401.
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { mintToken } from '../../src/protocol/index.ts';
import { MessageRecorder } from '../helpers/ws.ts';
import { connectClient, expectRefusedHandshake, metricValue, rest, startTestServer, TEST_SECRET } from '../helpers/server.ts';

const key = new TextEncoder().encode(TEST_SECRET);

async function signed(alg: string, claims: Record<string, unknown>, secret = key): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(secret);
}

const now = () => Math.floor(Date.now() / 1000);

describe('handshake authentication', () => {
  it('refuses a handshake without a token with 403 "Not authenticated"', async () => {
    const server = await startTestServer();
    const r = await expectRefusedHandshake(server.wsUrl);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ detail: 'Not authenticated' });
    expect(r.contentType).toMatch(/application\/json/);
    expect(server.connectionCount()).toBe(0);
    expect(await metricValue(server, 'websocket_refused_handshakes_total', { reason: 'missing_token' })).toBe(1);
  });

  const invalid: [string, () => Promise<string>, string][] = [
    ['a bad signature', () => mintToken({ userId: 1, secret: TEST_SECRET, flavour: 'bad-signature' }), 'invalid_token'],
    ['an expired token', () => mintToken({ userId: 1, secret: TEST_SECRET, flavour: 'expired' }), 'expired_token'],
    ['alg none', () => mintToken({ userId: 1, secret: TEST_SECRET, flavour: 'alg-none' }), 'invalid_token'],
    ['no sub', () => mintToken({ userId: 1, secret: TEST_SECRET, flavour: 'no-sub' }), 'invalid_token'],
    ['no exp', () => mintToken({ userId: 1, secret: TEST_SECRET, flavour: 'no-exp' }), 'invalid_token'],
    ['a wrong algorithm (HS512)', () => signed('HS512', { sub: '1', iat: now(), exp: now() + 60 }), 'invalid_token'],
    ['a token not yet valid', () => signed('HS256', { sub: '1', iat: now(), nbf: now() + 600, exp: now() + 900 }), 'invalid_token'],
    ['garbage', async () => 'not.a.jwt', 'invalid_token'],
  ];
  for (const [name, make, reason] of invalid) {
    it(`refuses ${name} with 403 "Invalid authentication token" and no upgrade`, async () => {
      const server = await startTestServer();
      const token = await make();
      const r = await expectRefusedHandshake(`${server.wsUrl}?token=${encodeURIComponent(token)}`);
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ detail: 'Invalid authentication token' });
      expect(server.connectionCount()).toBe(0);
      expect(await metricValue(server, 'websocket_refused_handshakes_total', { reason })).toBe(1);
    });
  }

  it('checks iss and aud when configured', async () => {
    const server = await startTestServer({ issuer: 'bugzapp', audience: 'app' });
    const wrong = await mintToken({ userId: 1, secret: TEST_SECRET, issuer: 'other', audience: 'app' });
    expect((await expectRefusedHandshake(`${server.wsUrl}?token=${wrong}`)).status).toBe(403);
    const { recorder } = await connectClient(server, 1, {}, {}, { issuer: 'bugzapp', audience: 'app' });
    expect(recorder.messages[0]?.type).toBe('connection_established');
  });

  it('answers another path with 404 and no upgrade', async () => {
    const server = await startTestServer();
    const token = await mintToken({ userId: 1, secret: TEST_SECRET });
    const r = await expectRefusedHandshake(`${server.url.replace('http', 'ws')}/other?token=${token}`);
    expect(r.status).toBe(404);
  });

  it('accepts a numeric sub as its decimal string', async () => {
    const server = await startTestServer();
    const token = await signed('HS256', { sub: 42, iat: now(), exp: now() + 60 });
    const ws = new WebSocket(`${server.wsUrl}?token=${token}`);
    onTestFinished(() => ws.terminate());
    const est = await new MessageRecorder(ws).waitFor((m) => m.type === 'connection_established');
    expect(est).toMatchObject({ payload: { user_id: '42' } });
  });
});

describe('REST authentication', () => {
  it('answers 401 without a bearer token and with a bad one; health, readiness and metrics need none', async () => {
    const server = await startTestServer();
    const none = await rest(server, 'GET', '/bug-reports/', null);
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ detail: 'Not authenticated' });
    const bad = await fetch(`${server.url}/bug-reports/`, {
      headers: { authorization: `Bearer ${await mintToken({ userId: 1, secret: TEST_SECRET, flavour: 'expired' })}` },
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ detail: 'Invalid authentication token' });
    const post = await rest(server, 'POST', '/bug-reports/', null, { title: 'x' });
    expect(post.status).toBe(401);
    expect((await rest(server, 'GET', '/healthz', null)).body).toEqual({ status: 'ok' });
    expect((await rest(server, 'GET', '/readyz', null)).status).toBe(200);
    expect((await rest(server, 'GET', '/metrics', null)).status).toBe(200);
  });
});
