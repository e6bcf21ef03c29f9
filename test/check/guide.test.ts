// `bugzapp check` against the team's real FastAPI guide server: exit 1 with its deviations listed,
// each with expected vs observed, and no case that the harness could not run.
import { describe, expect, it, onTestFinished } from 'vitest';
import { fastApiUnavailableReason, startFastApiGuideServer } from '../../fixtures/servers/fastapi-guide.ts';
import type { CheckResult } from '../../src/check/index.ts';
import { runCli } from '../../src/cli/index.ts';
import { captureIO } from '../helpers/cli.ts';

const unavailable = fastApiUnavailableReason();
const SECRET = 'guide-check-secret';

describe.skipIf(unavailable !== undefined)('bugzapp check against the FastAPI guide server', () => {
  it('exits 1 listing its deviations, expected beside observed, and crashes on nothing', async () => {
    const server = await startFastApiGuideServer({ secret: SECRET });
    onTestFinished(() => server.close());
    const c = captureIO();
    const code = await runCli(['check', '--url', server.url, '--secret', SECRET, '--json'], c.io);
    expect(code).toBe(1);
    expect(c.err()).not.toMatch(/This is a bug in bugzapp|TypeError|at .*\.ts:\d+/);
    const result = JSON.parse(c.out()) as CheckResult;
    expect(result.verdict).toBe('fail');
    const outcome = Object.fromEntries(result.cases.map((x) => [x.id, x.outcome]));
    // section 9 of the protocol: no seq, no cursor, no resume; no REST auth; a bare connection_established.
    // Only what its code does every time: its broadcasts under the suite's concurrency vary run to run.
    expect(outcome).toMatchObject({
      'connection.cursor': 'unsupported',
      'connection.rate-limit': 'unsupported',
      'connection.user-id': 'unsupported',
      'resume.replay': 'unsupported',
      'resume.live': 'unsupported',
      'events.update': 'unsupported',
      'auth.rest-no-token': 'fail',
      'auth.no-sub': 'fail',
      'messages.error-code': 'fail',
      'messages.unknown-type': 'fail',
      'ratelimit.exact': 'fail',
      // what it does per the protocol
      'auth.valid-token': 'pass',
      'messages.ping': 'pass',
      'health.healthz': 'pass',
    });
    // its refusals are 403 without the JSON body
    expect(result.cases.find((x) => x.id === 'auth.no-token')).toMatchObject({ outcome: 'fail', observed: 'HTTP 403 with no body' });
    expect(result.cases.filter((x) => x.outcome === 'error').map((x) => `${x.id}: ${x.observed}`)).toEqual([]);
    for (const x of result.cases.filter((y) => y.outcome !== 'pass')) {
      expect(x.expected, x.id).not.toBe('');
      expect(x.observed, x.id).not.toBe('');
    }
  });
});
