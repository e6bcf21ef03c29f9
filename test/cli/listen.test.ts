// `bugzapp listen --json`, spawned as the real binary, against the reference server and the guide-like
// server; plus in-process runs for flag errors.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createRestClient } from '../../src/client/index.ts';
import { mintTokenSync } from '../../src/protocol/index.ts';
import { startGuideServer } from '../../fixtures/servers/guide-server.ts';
import { freePort, startTestServer, TEST_SECRET } from '../helpers/server.ts';
import { runCli } from '../../src/cli/index.ts';
import { captureIO, run } from '../helpers/cli.ts';
import { spawnCli } from '../client/cli-harness.ts';
import { startDropProxy } from '../client/drop-proxy.ts';

interface Line {
  type: string;
  action?: string;
  seq?: string;
  receivedAt: string;
  payload: Record<string, unknown>;
}

function api(url: string) {
  const r = createRestClient({ url, tokenProvider: () => mintTokenSync({ userId: 'reporter-1', secret: TEST_SECRET }) });
  onTestFinished(() => r.close());
  return r;
}

const parse = (lines: string[]): Line[] => lines.map((l) => JSON.parse(l) as Line);
const seqN = (l: Line): number => Number(l.seq!.split('-')[1]);

describe('bugzapp listen --json (spawned)', () => {
  it("prints every broadcast and this user's notifications, never another user's; Ctrl-C exits 0", async () => {
    const server = await startTestServer();
    const cli = spawnCli(['listen', '--user', '42', '--json', '--url', server.url, '--secret', TEST_SECRET]);
    await cli.until(() => cli.stderr().includes('live as user 42'), 'the connection');
    const rest = api(server.url);
    const mine = await rest.createBugReport({ title: 'For 42', assignee_id: '42' });
    const other = await rest.createBugReport({ title: 'For 7', assignee_id: '7' });
    await rest.createComment(mine.id, { body: 'a comment' });
    await rest.updateBugReport(mine.id, { status: 'resolved' });
    const last = await rest.createBugReport({ title: 'marker' });
    await cli.until(() => parse(cli.lines).some((l) => l.type === 'bug_report' && l.payload.id === last.id), 'the marker event');

    const lines = parse(cli.lines);
    const summary = lines.map((l) =>
      l.type === 'notification' ? `notification:${String(l.payload.bug_report_id)}` : `${l.type}:${l.action}:${String(l.payload.title ?? l.payload.body)}`,
    );
    expect(summary).toEqual([
      'bug_report:created:For 42',
      `notification:${mine.id}`,
      'bug_report:created:For 7',
      'comment:created:a comment',
      // reporter-1 commented on 42's report: 42 is notified
      `notification:${mine.id}`,
      'bug_report:updated:For 42',
      'bug_report:created:marker',
    ]);
    expect(lines.some((l) => l.type === 'notification' && l.payload.bug_report_id === other.id)).toBe(false);
    for (const l of lines) {
      expect(Number.isNaN(Date.parse(l.receivedAt))).toBe(false);
      expect(l.seq).toEqual(expect.any(String));
    }
    cli.child.kill('SIGINT');
    expect(await cli.exit()).toBe(0);
  });

  it('through repeated server-side drops: every event exactly once, in seq order', async () => {
    const server = await startTestServer();
    const proxy = await startDropProxy(server.url);
    const cli = spawnCli([
      'listen', '--user', '42', '--json', '--url', proxy.url, '--secret', TEST_SECRET, '--retry-base', '20ms', '--max-retries', '0',
    ]);
    await cli.until(() => cli.stderr().includes('live as user 42'), 'the connection');
    const rest = api(server.url);
    const total = 30;
    const live = (): number => cli.stderr().split('\n').filter((l) => l.includes('live as user 42')).length;
    let drops = 0;
    for (let i = 0; i < total; i++) {
      if (i % 6 === 0) {
        // cut the live connection, then fire while the client is away: these come back by replay
        await cli.until(() => live() === drops + 1, `connection ${drops + 1}`);
        drops += proxy.dropAll();
      }
      await rest.createBugReport({ title: `report ${i}`, ...(i % 3 === 0 ? { assignee_id: '42' } : {}) });
    }
    const expected = total + Math.ceil(total / 3);
    await cli.until(() => cli.lines.length >= expected, `${expected} events`);
    const lines = parse(cli.lines);
    expect(drops).toBe(5);
    expect(lines).toHaveLength(expected);
    const seqs = lines.map(seqN);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const titles = lines.filter((l) => l.type === 'bug_report').map((l) => l.payload.title);
    expect(titles).toEqual(Array.from({ length: total }, (_, i) => `report ${i}`));
    expect(cli.stderr()).toMatch(/reconnecting in/);
    expect(cli.stderr()).toMatch(/resumed with \d+ missed event/);
    expect(proxy.accepted()).toBeGreaterThanOrEqual(drops + 1);
    cli.child.kill('SIGINT');
    expect(await cli.exit()).toBe(0);
  });

  it('stops quietly with exit 0 when the reader of stdout goes away (listen | head -1)', async () => {
    const server = await startTestServer();
    const cli = spawnCli(['listen', '--user', '42', '--url', server.url, '--secret', TEST_SECRET]);
    await cli.until(() => cli.stderr().includes('live as user 42'), 'the connection');
    const rest = api(server.url);
    await rest.createBugReport({ title: 'first' });
    await cli.until(() => cli.lines.length === 1, 'the first line');
    cli.child.stdout!.destroy();
    // keep firing until a write hits the closed pipe
    const exited = cli.exit();
    for (let i = 0; i < 50 && cli.child.exitCode === null; i++) await rest.createBugReport({ title: `more ${i}` });
    expect(await exited).toBe(0);
    expect(cli.stderr()).not.toContain('EPIPE');
  });

  it('a refused token: exit 1 with a clear message, no retry loop', async () => {
    const server = await startTestServer();
    const cli = spawnCli(['listen', '--user', '42', '--json', '--url', server.url, '--secret', 'not-the-server-secret']);
    expect(await cli.exit()).toBe(1);
    expect(cli.stderr()).toContain('refused the token');
    expect(cli.stderr()).toContain('403');
    expect(cli.stderr()).toContain('ERR_AUTH_REFUSED');
    expect(cli.stderr()).not.toContain('reconnecting');
    expect(cli.lines).toEqual([]);
  });

  it('retries exhausted: exit 1 saying so', async () => {
    const port = await freePort();
    const cli = spawnCli(['listen', '--user', '42', '--url', `http://127.0.0.1:${port}`, '--max-retries', '2', '--retry-base', '10ms']);
    expect(await cli.exit()).toBe(1);
    expect(cli.stderr().match(/reconnecting in/g)).toHaveLength(2);
    expect(cli.stderr()).toContain('gave up after 2 retries');
    expect(cli.stderr()).toContain('ERR_RETRIES_EXHAUSTED');
  });

  it('against the guide-like server: reconnects after drops and says resume is unsupported', async () => {
    const guide = await startGuideServer({ secret: TEST_SECRET });
    onTestFinished(() => guide.close());
    const cli = spawnCli(['listen', '--user', '42', '--url', guide.url, '--secret', TEST_SECRET, '--retry-base', '10ms']);
    await guide.waitForConnections(1);
    await cli.until(() => cli.stderr().includes('resume unsupported'), 'the resume-unsupported notice');
    expect(guide.dropAll()).toBe(1);
    await guide.waitForConnections(2);
    await cli.until(() => cli.stderr().split('\n').filter((l) => l.includes('live as user 42') || l.endsWith('listen: live')).length >= 2, 'the second connection');
    const rest = api(guide.url);
    await rest.createBugReport({ title: 'after the drop', assignee_id: '42' });
    await cli.until(() => cli.lines.length >= 2, 'two events');
    const lines = parse(cli.lines);
    expect(lines.map((l) => l.type)).toEqual(['bug_report', 'notification']);
    expect(lines.every((l) => l.seq === undefined)).toBe(true);
    expect(cli.stderr().match(/resume unsupported/g)).toHaveLength(1);
    cli.child.kill('SIGINT');
    expect(await cli.exit()).toBe(0);
  });
});

describe('bugzapp listen flags (in-process)', () => {
  it('exits 2 naming the flag', async () => {
    const cases: [string[], string][] = [
      [['listen'], '--user'],
      [['listen', '--user', '1', '--type', 'bug_report,pong'], '--type'],
      [['listen', '--user', '1', '--max-retries', '-1'], '--max-retries'],
      [['listen', '--user', '1', '--retry-base', 'soon'], '--retry-base'],
      [['listen', '--user', '1', '--token', 't', '--secret', 's'], '--token'],
      [['listen', '--user', '1', '--url', 'mailto:x'], '--url'],
    ];
    for (const [args, flag] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toContain(flag);
    }
  });

  it('--type filters the NDJSON output; the abort signal (Ctrl-C) exits 0', async () => {
    const server = await startTestServer();
    const c = captureIO();
    const done = runCli(['listen', '--user', '42', '--type', 'notification', '--url', server.url, '--secret', TEST_SECRET], c.io);
    await c.until(() => c.err().includes('live as user 42'), 'the connection');
    const rest = api(server.url);
    await rest.createBugReport({ title: 'one', assignee_id: '42' });
    await rest.createBugReport({ title: 'two', assignee_id: '42' });
    await c.until(() => c.out().split('\n').filter(Boolean).length >= 2, 'two lines');
    c.controller.abort();
    expect(await done).toBe(0);
    const lines = c.out().trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => [l.type, l.payload.message])).toEqual([
      ['notification', 'New bug report assigned: one'],
      ['notification', 'New bug report assigned: two'],
    ]);
  });
});
