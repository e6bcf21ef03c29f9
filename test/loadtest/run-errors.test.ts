// Harness errors (the CLI's exit 2): they reject with a coded error instead of a half-made result.
import { createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultyServer } from '../../fixtures/servers/faulty-server.ts';
import { createServer } from '../../src/server/index.ts';
import { runLoadTest } from '../../src/loadtest/index.ts';
import { BugzappError } from '../../src/errors.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BugzappError);
    return (err as BugzappError).code;
  }
  return undefined;
}

describe('runLoadTest harness errors', () => {
  it('refuses a non-loopback target before connecting anywhere', async () => {
    expect(await codeOf(runLoadTest({ urls: ['http://203.0.113.7:8000'] }))).toBe('ERR_LOADTEST_TARGET');
  });

  it('says the token was refused when the secret is wrong', async () => {
    const server = await createServer({ port: 0, secret: 'right' });
    closers.push(() => server.close());
    expect(await codeOf(runLoadTest({ urls: [server.url], secret: 'wrong', users: 2, events: 1 }))).toBe('ERR_AUTH_REFUSED');
  });

  it('fails fast when nothing listens at the target', async () => {
    // a port that was free a moment ago
    const port = await new Promise<number>((resolve) => {
      const s = createNetServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const code = await codeOf(runLoadTest({ urls: [`http://127.0.0.1:${port}`], users: 2, events: 1 }));
    expect(['ERR_RETRIES_EXHAUSTED', 'ERR_CONNECT_FAILED']).toContain(code);
  });

  it('says the server did not answer when its REST API hangs, within the connect timeout instead of the REST timeout', async () => {
    const server = await startFaultyServer({ neverAnswerRest: true });
    closers.push(() => server.close());
    expect(await codeOf(runLoadTest({ urls: [server.url], users: 2, events: 1, connectTimeoutMs: 300 }))).toBe('ERR_TIMEOUT');
  }, 10_000);
});
