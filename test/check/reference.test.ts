// `bugzapp check` against the reference server: every case passes, with the default rate limit and
// with --rate-limit 5/1s; the graceful close case through a real spawned server; the outputs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../../src/cli/index.ts';
import { runCheck, type CheckResult } from '../../src/check/index.ts';
import { captureIO } from '../helpers/cli.ts';
import { startTestServer, testToken, TEST_SECRET } from '../helpers/server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LISTEN_LINE = /^bugzapp listening on (http:\/\/\S+)$/m;

/** `bugzapp serve` in-process on a free port; stopped when the test ends. */
async function serve(args: string[] = []): Promise<string> {
  const c = captureIO();
  const done = runCli(['serve', '--port', '0', '--secret', TEST_SECRET, '--log-level', 'silent', ...args], c.io);
  onTestFinished(async () => {
    c.controller.abort();
    await done;
  });
  return (await c.waitForOut(LISTEN_LINE, 20_000))[1]!;
}

async function checkJson(args: string[]): Promise<{ code: number; result: CheckResult; err: string }> {
  const c = captureIO();
  const code = await runCli(['check', '--secret', TEST_SECRET, '--json', ...args], c.io);
  return { code, result: JSON.parse(c.out()) as CheckResult, err: c.err() };
}

const notPassed = (r: CheckResult): string[] => r.cases.filter((c) => c.outcome !== 'pass').map((c) => `${c.id}: ${c.outcome}: ${c.observed}`);

describe('bugzapp check against bugzapp serve', () => {
  it('passes every case, at least 40 over sections 2 to 8, exit 0, JSON on stdout and progress on stderr', async () => {
    const url = await serve();
    const { code, result, err } = await checkJson(['--url', url]);
    expect(notPassed(result)).toEqual([]);
    expect(code).toBe(0);
    expect(result).toMatchObject({ schemaVersion: 1, target: url, protocolVersion: '1.1', verdict: 'pass' });
    expect(result.summary.total).toBeGreaterThanOrEqual(40);
    expect(result.summary).toEqual({ total: result.cases.length, pass: result.cases.length, fail: 0, unsupported: 0, error: 0 });
    expect(new Set(result.cases.map((c) => c.section))).toEqual(new Set(['2', '3', '4', '5', '6', '7', '8']));
    for (const c of result.cases) {
      expect(Object.keys(c).sort()).toEqual(['durationMs', 'expected', 'id', 'observed', 'outcome', 'section', 'title']);
    }
    expect(err).toMatch(/^PASS +auth\.no-token \(\d+ ms\)$/m);
  });

  it('passes every case with --rate-limit 5/1s, checking exactly 5 per 1000 ms', async () => {
    const url = await serve(['--rate-limit', '5/1s']);
    const { code, result } = await checkJson(['--url', url]);
    expect(notPassed(result)).toEqual([]);
    expect(code).toBe(0);
    const exact = result.cases.find((c) => c.id === 'ratelimit.exact')!;
    expect(exact.expected).toContain('5 per 1000 ms');
    expect(exact.observed).toMatch(/5 answered, \d+ refused/);
  });

  it('streams plain lines when stdout is not a terminal, and an Ink view with sections when it is', async () => {
    const url = await serve();
    const plain = captureIO();
    expect(await runCli(['check', '--url', url, '--secret', TEST_SECRET, '--only', '8'], plain.io)).toBe(0);
    expect(plain.out()).toMatch(/^PASS +health\.healthz \(\d+ ms\)$/m);
    expect(plain.out()).toMatch(/^PASS: .* 4 of 4 passed/m);

    // a terminal: a real Writable claiming to be a TTY, as Ink needs a stream it can listen on
    let drawn = '';
    const term = Object.assign(new Writable({ write: (chunk: Buffer, _enc, cb) => ((drawn += chunk.toString()), cb()) }), { isTTY: true, columns: 160, rows: 200 });
    const tty = captureIO();
    tty.io.stdout = term;
    expect(await runCli(['check', '--url', url, '--secret', TEST_SECRET, '--only', '8,2'], tty.io)).toBe(0);
    expect(tty.err()).toBe('');
    expect(drawn).toContain('2. Authentication');
    expect(drawn).toContain('8. Health and metrics');
    expect(drawn).toMatch(/✓ metrics\.messages-total/);
    expect(drawn).toMatch(/PASS: 15 of 15 passed/);
  });

  it('runs the graceful close case only with --destructive, stopping a real server with --stop-command', async () => {
    const child = spawn('npx', ['bugzapp', 'serve', '--port', '0', '--log-level', 'info'], {
      cwd: ROOT,
      env: { ...process.env, BUGZAPP_JWT_SECRET: TEST_SECRET, BUGZAPP_PORT: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let serverPid: number | undefined;
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) {
        if (serverPid) process.kill(serverPid, 'SIGKILL');
        child.kill('SIGKILL');
      }
    });
    const exited = once(child, 'exit');
    const pidSeen = new Promise<number>((resolve) => {
      createInterface({ input: child.stderr }).on('line', (line) => {
        try {
          const rec = JSON.parse(line) as { pid?: number; msg?: string };
          if (rec.msg === 'listening' && rec.pid) resolve(rec.pid);
        } catch {
          // not a log line
        }
      });
    });
    const urlSeen = new Promise<string>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = LISTEN_LINE.exec(line);
        if (m) resolve(m[1]!);
      });
    });
    const timeout = (what: string) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not seen in time`)), 20_000).unref());
    const url = await Promise.race([urlSeen, timeout('listening line')]);
    serverPid = await Promise.race([pidSeen, timeout('listening log line')]);

    // without --destructive the close case is never selected: --only close alone is a usage error
    const without = captureIO();
    expect(await runCli(['check', '--url', url, '--only', 'close'], without.io)).toBe(2);
    expect(without.err()).toMatch(/--only: .*--destructive/);

    const { code, result } = await checkJson(['--url', url, '--only', 'close', '--destructive', '--stop-command', `kill -TERM ${serverPid}`]);
    expect(result.cases.map((c) => [c.id, c.outcome])).toEqual([['close.going-away', 'pass']]);
    expect(result.cases[0]!.observed).toMatch(/event delivered; closed 1001/);
    expect(code).toBe(0);
    await Promise.race([exited, timeout('server exit')]);
  });

  it('reports through the library: cases stream through onCaseEnd, independent ones overlap', async () => {
    const server = await startTestServer();
    const ended: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const result = await runCheck({
      url: server.url,
      secret: TEST_SECRET,
      only: ['7'],
      concurrency: 3,
      onCaseStart: () => (maxRunning = Math.max(maxRunning, ++running)),
      onCaseEnd: (r) => {
        running--;
        ended.push(r.id);
      },
    });
    expect(result.verdict).toBe('pass');
    expect(ended.sort()).toEqual(result.cases.map((c) => c.id).sort());
    expect(maxRunning).toBe(3);
  });
});

describe('bugzapp check usage errors (exit 2)', () => {
  const bad: [string[], string][] = [
    [['--url', 'not a url'], '--url'],
    [['--url', 'ftp://example.com'], '--url'],
    [[], '--url'],
    [['--url', 'http://127.0.0.1:1', '--only', '9'], '--only'],
    [['--url', 'http://127.0.0.1:1', '--destructive'], '--destructive'],
    [['--url', 'http://127.0.0.1:1', '--secret', 's', '--token', 't'], '--token'],
    [['--url', 'http://127.0.0.1:1', '--concurrency', '0'], '--concurrency'],
  ];
  for (const [args, named] of bad) {
    it(`exits 2 naming ${named} for ${args.join(' ') || 'no --url'}`, async () => {
      const c = captureIO();
      expect(await runCli(['check', ...args], c.io)).toBe(2);
      expect(c.err()).toContain(named);
      expect(c.out()).toBe('');
    });
  }

  it('exits 2 when the server cannot be reached at all', async () => {
    const c = captureIO();
    const dir = mkdtempSync(join(tmpdir(), 'bugzapp-check-'));
    expect(await runCli(['check', '--url', 'http://127.0.0.1:1', '--junit', join(dir, 'x.xml')], c.io)).toBe(2);
    expect(c.err()).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1/);
    expect(() => readFileSync(join(dir, 'x.xml'))).toThrow();
  });
});

describe('bugzapp check with a ready token and no secret', () => {
  it('runs what one user can, reports the cases that must mint tokens as errors naming --secret, and exits 2', async () => {
    const server = await startTestServer();
    const token = await testToken('token-holder');
    const c = captureIO({ BUGZAPP_TOKEN: token });
    const code = await runCli(['check', '--url', server.url, '--only', '2,3', '--json'], c.io);
    const result = JSON.parse(c.out()) as CheckResult;
    const errors = result.cases.filter((x) => x.outcome === 'error');
    expect(errors.map((x) => x.id).sort()).toEqual(['auth.expired-token', 'auth.no-exp', 'auth.no-sub', 'auth.rest-bad-token', 'auth.token-expiry-close']);
    for (const e of errors) expect(e.observed).toMatch(/needs --secret/);
    expect(result.cases.filter((x) => x.outcome === 'fail')).toEqual([]);
    expect(result.cases.find((x) => x.id === 'connection.user-id')).toMatchObject({ outcome: 'pass', observed: 'user_id token-holder' });
    expect(code).toBe(2);
  });
});
