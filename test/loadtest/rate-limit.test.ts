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

/** The probe with users a and b, no limit given or advertised unless `o` says so. */
function probe(url: string, o: Partial<Parameters<typeof probeRateLimit>[0]> = {}): ReturnType<typeof probeRateLimit> {
  return probeRateLimit({ url, secret: SECRET, userA: 'a', userB: 'b', given: undefined, advertised: undefined, timeoutMs: 5000, ...o });
}

describe('probeRateLimit', () => {
  it('fails when the server lets through more than the limit checked, and says how many passed', async () => {
    const server = await createServer({ port: 0, secret: SECRET, rateLimit: { max: 10, windowMs: 1000 } });
    closers.push(() => server.close());
    const r = await probe(server.url, { given: { max: 5, windowMs: 1000 }, advertised: { max: 10, windowMs: 1000 } });
    expect(r.status).toBe('fail');
    expect(r.checked).toEqual({ max: 5, windowMs: 1000 });
    expect(r.measured).toEqual({ max: 10, windowMs: 1000 });
    expect(r.details[0]).toMatchObject({ name: 'exactly max per window', pass: false });
  });

  it('measures a limit that is enforced but not advertised', async () => {
    const server = await startFaultyServer({ secret: SECRET, advertisedRateLimit: null, enforceRateLimit: { max: 4, windowMs: 300 } });
    closers.push(() => server.close());
    const r = await probe(server.url);
    expect(r.status).toBe('pass');
    expect(r.advertised).toBeUndefined();
    expect(r.measured?.max).toBe(4);
    expect(r.measured?.windowMs).toBeGreaterThanOrEqual(300);
  });

  it('fails a server without any limit, measured', async () => {
    const server = await startFaultyServer({ secret: SECRET, advertisedRateLimit: null });
    closers.push(() => server.close());
    const r = await probe(server.url);
    expect(r.status).toBe('fail');
    expect(r.details[0]!.detail).toMatch(/no limit enforced/);
  });

  it('a server slower to answer than its window passes: the burst over both connections of the user is judged in one window', async () => {
    const limit = { max: 10, windowMs: 100 };
    const server = await startFaultyServer({
      secret: SECRET,
      advertisedRateLimit: { max: limit.max, window_ms: limit.windowMs },
      enforceRateLimit: limit,
      answerDelayMs: 150,
    });
    closers.push(() => server.close());
    const r = await probe(server.url, { advertised: limit });
    expect(r.details.filter((d) => !d.pass)).toEqual([]);
    expect(r.status).toBe('pass');
    expect(r.measured).toEqual(limit);
  });

  it('a per-connection limit fails the per-user check', async () => {
    const server = await startFaultyServer({
      secret: SECRET,
      advertisedRateLimit: { max: 10, window_ms: 1000 },
      enforceRateLimit: { max: 10, windowMs: 1000 },
      rateLimitPerConnection: true,
    });
    closers.push(() => server.close());
    const r = await probe(server.url, { advertised: { max: 10, windowMs: 1000 } });
    expect(r.status).toBe('fail');
    expect(r.details.find((d) => d.name === 'per user across connections')?.pass).toBe(false);
  });

  it('a server that answers no ping fails the measured check at once instead of passing with max 0', async () => {
    const server = await startFaultyServer({ secret: SECRET, advertisedRateLimit: null, silentPings: true });
    closers.push(() => server.close());
    const r = await probe(server.url, { timeoutMs: 300 });
    expect(r.status).toBe('fail');
    expect(r.measured).toBeUndefined();
    expect(r.details[0]).toMatchObject({ name: 'limit enforced', pass: false });
    expect(r.details[0]!.detail).toMatch(/unanswered/);
  });

  it('a limit given but no ping answered fails once, without retries', async () => {
    const server = await startFaultyServer({ secret: SECRET, advertisedRateLimit: null, silentPings: true });
    closers.push(() => server.close());
    const r = await probe(server.url, { given: { max: 5, windowMs: 50 }, timeoutMs: 300 });
    expect(r.status).toBe('fail');
    expect(r.details[0]).toMatchObject({ name: 'exactly max per window', pass: false });
    expect(r.details[0]!.detail).toMatch(/unanswered/);
  });

  it('measures a limit larger than the first burst instead of reporting none', async () => {
    const server = await startFaultyServer({ secret: SECRET, advertisedRateLimit: null, enforceRateLimit: { max: 300, windowMs: 1000 } });
    closers.push(() => server.close());
    const r = await probe(server.url);
    expect(r.details[0]).toMatchObject({ name: 'limit enforced', pass: true });
    expect(r.measured?.max).toBe(300);
  });

  it('a limit shared by all users fails the other-users check even when the server answers slower than its window', async () => {
    const limit = { max: 10, windowMs: 100 };
    const server = await startFaultyServer({
      secret: SECRET,
      advertisedRateLimit: { max: limit.max, window_ms: limit.windowMs },
      enforceRateLimit: limit,
      rateLimitGlobal: true,
      answerDelayMs: 150,
    });
    closers.push(() => server.close());
    const r = await probe(server.url, { advertised: limit });
    expect(r.status).toBe('fail');
    // the other user's pings go in the same tick as the limited user's burst, which is sent first and
    // uses up the shared window: the other user is refused
    const other = r.details.find((d) => d.name === 'other users unaffected')!;
    expect(other.pass).toBe(false);
    expect(other.detail).toMatch(/^another user, in the same window: [0-2] of 3 pings answered with pong/);
  });
});
