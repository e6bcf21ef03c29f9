// `bugzapp fire` in-process against the real reference server (and the guide-like server for 405).
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startGuideServer } from '../../fixtures/servers/guide-server.ts';
import { startTestServer, TEST_SECRET, rest } from '../helpers/server.ts';
import { run } from '../helpers/cli.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/bug-reports.json', import.meta.url));

describe('bugzapp fire', () => {
  it('creates a bug report and prints the 201 resource as JSON', async () => {
    const server = await startTestServer();
    const r = await run(
      ['fire', 'bug-report', '--title', 'Crash on login', '--assignee', '42', '--severity', 'high', '--description', 'D', '--url', server.url, '--secret', TEST_SECRET],
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const created = JSON.parse(r.out) as Record<string, unknown>;
    expect(created).toMatchObject({ title: 'Crash on login', assignee_id: '42', severity: 'high', description: 'D', reporter_id: 'reporter-1' });
    const stored = await rest(server, 'GET', `/bug-reports/${String(created.id)}`, 'someone');
    expect(stored.status).toBe(200);
  });

  it('takes URL and secret from the environment and --as for the bearer user', async () => {
    const server = await startTestServer();
    const env = { BUGZAPP_URL: server.url, BUGZAPP_JWT_SECRET: TEST_SECRET };
    const r = await run(['fire', 'bug-report', '--title', 'T', '--as', 'qa-9'], env);
    expect(r.code).toBe(0);
    const id = (JSON.parse(r.out) as { id: number }).id;
    const c = await run(['fire', 'comment', String(id), '--body', 'Seen on 1.2.3', '--as', 'dev-7'], env);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.out)).toMatchObject({ bug_report_id: id, author_id: 'dev-7', body: 'Seen on 1.2.3' });
    const u = await run(['fire', 'update', String(id), '--status', 'resolved', '--assignee', '7'], env);
    expect(u.code).toBe(0);
    expect(JSON.parse(u.out)).toMatchObject({ id, status: 'resolved', assignee_id: '7' });
    const d = await run(['fire', 'delete', String(id)], env);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out)).toEqual({ id, deleted: true });
    expect((await rest(server, 'GET', `/bug-reports/${id}`, 'x')).status).toBe(404);
  });

  it('prints the 422 detail and exits 1', async () => {
    const server = await startTestServer();
    const r = await run(['fire', 'bug-report', '--title', '', '--url', server.url, '--secret', TEST_SECRET]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('HTTP 422');
    expect(r.err).toContain('body.title');
  });

  it('prints the 404 detail and exits 1', async () => {
    const server = await startTestServer();
    for (const args of [
      ['update', '999', '--status', 'closed'],
      ['delete', '999'],
      ['comment', '999', '--body', 'hi'],
    ]) {
      const r = await run(['fire', ...args, '--url', server.url, '--secret', TEST_SECRET]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toContain('HTTP 404');
    }
  });

  it('exits 1 with the 401 detail when the server refuses the token', async () => {
    const server = await startTestServer();
    const r = await run(['fire', 'bug-report', '--title', 'T', '--url', server.url, '--secret', 'wrong-secret']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('HTTP 401');
  });

  it('exits 2 naming the flag for bad flags, without calling the server', async () => {
    const url = 'http://127.0.0.1:1'; // nothing listens: a call would fail with exit 1, not 2
    const cases: [string[], string][] = [
      [['bug-report', '--title', 'T', '--severity', 'urgent'], '--severity'],
      [['bug-report'], '--title'],
      [['update', '7', '--status', 'done'], '--status'],
      [['update', '7'], '--status'],
      [['update', 'seven', '--status', 'open'], '<id>'],
      [['bug-report', '--title', 'T', '--token', 't', '--secret', 's'], '--token'],
      [['bug-report', '--title', 'T', '--from', FIXTURE], '--title'],
      [['bug-report', '--from', '/nonexistent/reports.json'], '--from'],
    ];
    for (const [args, flag] of cases) {
      const r = await run(['fire', ...args, '--url', url]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toContain(flag);
    }
    const unknown = await run(['fire', 'bug-report', '--title', 'T', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--bogus');
    const badUrl = await run(['fire', 'delete', '1', '--url', 'ftp://x']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.err).toContain('--url');
  });

  it('fires every report of fixtures/bug-reports.json, as NDJSON or one array', async () => {
    const server = await startTestServer();
    const r = await run(['fire', 'bug-report', '--from', FIXTURE, '--url', server.url, '--secret', TEST_SECRET]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { id: number; title: string });
    expect(lines.length).toBeGreaterThanOrEqual(15);
    expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length);
    const a = await run(['fire', 'bug-report', '--from', FIXTURE, '--array', '--url', server.url, '--secret', TEST_SECRET]);
    expect(a.code).toBe(0);
    const arr = JSON.parse(a.out) as { title: string }[];
    expect(arr.map((x) => x.title)).toEqual(lines.map((l) => l.title));
  });

  it('against the guide-like server: create works, update answers 405 and exits 1', async () => {
    const guide = await startGuideServer({ secret: TEST_SECRET });
    onTestFinished(() => guide.close());
    const c = await run(['fire', 'bug-report', '--title', 'T', '--url', guide.url]);
    expect(c.code).toBe(0);
    const u = await run(['fire', 'update', '1', '--status', 'closed', '--url', guide.url]);
    expect(u.code).toBe(1);
    expect(u.err).toContain('HTTP 405');
  });
});
