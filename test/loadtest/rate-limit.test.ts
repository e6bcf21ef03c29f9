// The rate-limit probe on its own: a limit given that the server does not keep fails with the figures,
// and a limit nobody advertises is measured.
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultyServer } from '../../fixtures/servers/faulty-server.ts';
import { createServer } from '../../src/server/index.ts';
import { probeRateLimit } from '../../src/loadtest/rate-limit.ts';

const SECRET = 'rate-secret';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('probeRateLimit', () => {
  it('fails when the server lets through more than the limit checked, and says how many passed', async () => {
    const server = await createServer({ port: 0, secret: SECRET, rateLimit: { max: 10, windowMs: 1000 } });
    closers.push(() => server.close());
    const r = await probeRateLimit({
      url: server.url,
      secret: SECRET,
      userA: 'a',
      userB: 'b',
      given: { max: 5, windowMs: 1000 },
      advertised: { max: 10, windowMs: 1000 },
      timeoutMs: 5000,
    });
    expect(r.status).toBe('fail');
    expect(r.checked).toEqual({ max: 5, windowMs: 1000 });
    expect(r.measured).toEqual({ max: 10, windowMs: 1000 });
    expect(r.details[0]).toMatchObject({ name: 'exactly max per window', pass: false });
  });

  it('measures a limit that is enforced but not advertised', async () => {
    const server = await startFaultyServer({ secret: SECRET, advertisedRateLimit: null, enforceRateLimit: { max: 4, windowMs: 300 } });
    closers.push(() => server.close());
    const r = await probeRateLimit({ url: server.url, secret: SECRET, userA: 'a', userB: 'b', given: undefined, advertised: undefined, timeoutMs: 5000 });
    expect(r.status).toBe('pass');
    expect(r.advertised).toBeUndefined();
    expect(r.measured?.max).toBe(4);
    expect(r.measured?.windowMs).toBeGreaterThanOrEqual(300);
  });

  it('fails a server without any limit, measured', async () => {
    const server = await startFaultyServer({ secret: SECRET, advertisedRateLimit: null });
    closers.push(() => server.close());
    const r = await probeRateLimit({ url: server.url, secret: SECRET, userA: 'a', userB: 'b', given: undefined, advertised: undefined, timeoutMs: 5000 });
    expect(r.status).toBe('fail');
    expect(r.details[0]!.detail).toMatch(/no limit enforced/);
  });
});
