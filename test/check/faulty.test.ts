// Each fault of the faulty fixture server is caught by a named case: with the fault the case fails,
// with the same server minus the fault it passes. And a server without a rate limit exits 1 naming
// the rate-limit cases, with JUnit and the GitHub step summary written.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFaultyServer, type FaultyServerOptions } from '../../fixtures/servers/faulty-server.ts';
import { runCheck, type CaseResult } from '../../src/check/index.ts';
import { runCli } from '../../src/cli/index.ts';
import { captureIO } from '../helpers/cli.ts';

const SECRET = 'faulty-check-secret';
const LIMIT = { enforceRateLimit: { max: 10, windowMs: 1000 } } as const;

async function caseOn(options: FaultyServerOptions, id: string): Promise<CaseResult> {
  const server = await startFaultyServer({ secret: SECRET, ...options });
  onTestFinished(() => server.close());
  const result = await runCheck({ url: server.url, secret: SECRET, only: [id], concurrency: 1 });
  const found = result.cases.find((c) => c.id === id);
  if (!found) throw new Error(`case ${id} did not run`);
  return found;
}

/** [fault, the case that must catch it, the same server without the fault]. */
const FAULTS: [string, FaultyServerOptions, string, FaultyServerOptions][] = [
  ['advertises a rate limit and enforces none', {}, 'ratelimit.exact', LIMIT],
  ['limits per connection instead of per user', { ...LIMIT, rateLimitPerConnection: true }, 'ratelimit.per-user', LIMIT],
  ['limits all users together', { ...LIMIT, rateLimitGlobal: true }, 'ratelimit.other-users', LIMIT],
  ['never answers pings', { silentPings: true }, 'messages.ping', {}],
  ['closes the connection on a frame that is not JSON', { closeOnInvalidFrame: true }, 'messages.invalid-json', {}],
  ['sends errors without a code', { ...LIMIT, omitErrorCodes: true }, 'messages.error-code', LIMIT],
  ['sends a pong before connection_established', { pongBeforeEstablished: true }, 'connection.established-first', {}],
  ['sends a notification to another user too', { misrouteNotification: 1 }, 'events.notification-private', {}],
  ['drops a broadcast to one connection', { dropBroadcasts: [1], dropTo: 1, faultsFromConnections: 3 }, 'events.broadcast', {}],
  ['accepts expired tokens on the WebSocket', { acceptExpiredTokens: true }, 'auth.expired-token', {}],
  ['serves REST changes without a token', { restWithoutAuth: true }, 'auth.rest-no-token', {}],
  ['answers only the trailing-slash spelling of paths', { strictTrailingSlash: true }, 'rest.trailing-slash', {}],
];

describe('bugzapp check catches each fault of the faulty server', () => {
  for (const [fault, options, id, without] of FAULTS) {
    it(`${id} fails when the server ${fault}, and passes without the fault`, async () => {
      const faulty = await caseOn(options, id);
      expect(faulty.outcome, faulty.observed).toBe('fail');
      expect(faulty.expected.length).toBeGreaterThan(0);
      const clean = await caseOn(without, id);
      expect(clean.outcome, clean.observed).toBe('pass');
    });
  }

  it('catches a server that never closes a connection whose token expired (the faulty server checks exp only at the upgrade)', async () => {
    const c = await caseOn({}, 'auth.token-expiry-close');
    expect(c.outcome).toBe('fail');
    expect(c.observed).toMatch(/still open \d+ ms after connecting/);
  });
});

describe('bugzapp check against a server without a rate limit', () => {
  it('exits 1 naming the rate-limit cases, with the numbers, in stdout, JUnit and the step summary', async () => {
    const server = await startFaultyServer({ secret: SECRET });
    onTestFinished(() => server.close());
    const dir = mkdtempSync(join(tmpdir(), 'bugzapp-check-'));
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '');
    const c = captureIO({ GITHUB_STEP_SUMMARY: summary });
    const code = await runCli(['check', '--url', server.url, '--secret', SECRET, '--only', 'ratelimit', '--junit', join(dir, 'check.xml')], c.io);
    expect(code).toBe(1);
    for (const id of ['ratelimit.exact', 'ratelimit.per-user', 'ratelimit.stays-open']) expect(c.out()).toMatch(new RegExp(`^FAIL +${id.replace('.', '\\.')}`, 'm'));
    expect(c.out()).toMatch(/expected: 10 per 1000 ms: of 15 pings at once, 10 answered, 5 refused/);
    expect(c.out()).toMatch(/observed: 15 sent: 15 answered, 0 refused/);
    const xml = readFileSync(join(dir, 'check.xml'), 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml).toMatch(/<testcase classname="bugzapp\.check\.5" name="ratelimit\.exact: [^"]*"[^>]*>\s*<failure message="15 sent: 15 answered, 0 refused/);
    const md = readFileSync(summary, 'utf8');
    expect(md).toMatch(/^### bugzapp check: ❌ fail/m);
    expect(md).toMatch(/^\| ❌ \| `ratelimit\.exact` \| 5 \| 10 per 1000 ms/m);
  });
});
