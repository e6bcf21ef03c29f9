import { it } from 'vitest';
import { runLoadTest } from '../../src/loadtest/index.ts';
import { buildLoadReport } from '../../src/loadtest/report-json.ts';
import { formatTextSummary } from '../../src/loadtest/report-text.ts';
import { TEST_SECRET, startTestServer } from '../helpers/server.ts';
it('try', async () => {
  const server = await startTestServer({ slowConsumerLimit: Number(process.env.LIM ?? 16384) });
  const r = await runLoadTest({ urls: [server.url], secret: TEST_SECRET, users: 50, events: Number(process.env.EV ?? 300), rate: Number(process.env.RATE ?? 30),
    slow: { percent: 10 }, seed: 1, skipRateLimit: true, saturationLagMs: 2000, drainTimeoutMs: 10000 });
  console.log(formatTextSummary(buildLoadReport(r)));
}, 120000);
