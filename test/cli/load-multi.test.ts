// `bugzapp load --url A --url B` (issue 5): the CLI spreads the run over two instances behind one Redis,
// and the report proves cross-instance delivery and the per-user limit across instances.
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../../src/cli/index.ts';
import type { LoadReport } from '../../src/loadtest/report-json.ts';
import { createServer } from '../../src/server/index.ts';
import { captureIO } from '../helpers/cli.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';

const SECRET = 'load-multi-secret';

describe.skipIf(skipRedis())('bugzapp load over two instances', () => {
  it('passes with every delivery across instances exactly once, exit 0', async () => {
    const redis = await RedisServer.start();
    onTestFinished(() => redis.stop());
    const a = await createServer({ port: 0, secret: SECRET, redisUrl: redis.url });
    onTestFinished(() => a.close());
    const b = await createServer({ port: 0, secret: SECRET, redisUrl: redis.url });
    onTestFinished(() => b.close());
    const c = captureIO({ BUGZAPP_JWT_SECRET: SECRET });
    const code = await runCli(
      [
        'load', '--url', a.url, '--url', b.url, '--users', '6', '--conns-per-user', '2', '--events', '20', '--rate', '100', '--json',
        '--gate', 'delivery==100%', '--gate', 'duplicated==0', '--gate', 'misrouted==0', '--gate', 'rate_limit==pass',
      ],
      c.io,
    );
    expect(code, c.err()).toBe(0);
    const report = JSON.parse(c.out()) as LoadReport;
    expect(report.targets).toEqual([a.url, b.url]);
    expect(report.connections.opened).toBe(12);
    expect(report.gates.map((g) => [g.expression, g.pass])).toEqual([
      ['delivery==100%', true],
      ['duplicated==0', true],
      ['misrouted==0', true],
      ['rate_limit==pass', true],
    ]);
    expect(report.delivery.total.expected).toBeGreaterThanOrEqual(20 * 12 - 12);
  });
});
