// The client watches the line: through a proxy that stops forwarding without closing (a half-open
// network), `listen` takes the connection as lost within heartbeat + grace, says so, reconnects with
// `since`, and misses nothing; the one shared watch timer is unit-tested on an injected clock.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createClient } from '../../src/client/index.ts';
import { LineWatch, type WatchedLine } from '../../src/client/line-watch.ts';
import { mintTokenSync } from '../../src/protocol/index.ts';
import { startTestServer, TEST_SECRET, rest } from '../helpers/server.ts';
import { spawnCli } from './cli-harness.ts';
import { startStallProxy } from './stall-proxy.ts';

const HEARTBEAT_MS = 500;
/** The client's default grace for a 500 ms heartbeat (half of it, at least 1000 ms). */
const GRACE_MS = 1000;
/** Slack for the shared tick and a loaded machine: the waits below only fail when exceeded. */
const SLACK_MS = 2000;

interface Line {
  type: string;
  seq?: string;
  payload: { title?: string };
}

function line(lostAfterMs: number, pingAfterMs = lostAfterMs): WatchedLine & { pings: number; lostAt: number[] } {
  const l = {
    heard: false,
    pingAfterMs,
    lostAfterMs,
    pings: 0,
    lostAt: [] as number[],
    ping() {
      l.pings++;
    },
    lost(ms: number) {
      l.lostAt.push(ms);
    },
  };
  return l;
}

describe('LineWatch (one timer for every line)', () => {
  it('pings once after pingAfterMs of silence, loses the line after lostAfterMs, and a frame resets both', () => {
    let now = 0;
    const watch = new LineWatch(() => now);
    const a = line(1500, 1000);
    const b = line(1500, 1000);
    watch.watch(a);
    watch.watch(b);
    onTestFinished(() => {
      watch.unwatch(a);
      watch.unwatch(b);
    });
    now = 900;
    b.heard = true;
    watch.tick();
    expect([a.pings, b.pings]).toEqual([0, 0]);
    now = 1000;
    watch.tick();
    expect([a.pings, b.pings]).toEqual([1, 0]);
    now = 1400;
    watch.tick();
    expect(a.pings).toBe(1);
    expect(a.lostAt).toEqual([]);
    now = 1500;
    watch.tick();
    expect(a.lostAt).toEqual([1500]);
    expect(b.lostAt).toEqual([]);
    expect(watch.size).toBe(1);
    now = 2400;
    watch.tick();
    expect(b.lostAt).toEqual([1500]);
    expect(watch.size).toBe(0);
  });
});

describe('a server gone silent (half-open network)', () => {
  it('listen reconnects within heartbeat + grace, says why, and misses nothing', async () => {
    const server = await startTestServer({ heartbeatIntervalMs: HEARTBEAT_MS });
    const proxy = await startStallProxy(server.port);
    const cli = spawnCli(['listen', '--user', '42', '--json', '--url', proxy.url, '--secret', TEST_SECRET, '--max-retries', '0']);
    onTestFinished(() => {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    });
    await cli.until(() => cli.stderr().includes('live as user 42'), 'the connection');
    const titles = Array.from({ length: 6 }, (_, i) => `silent-${i}`);
    const post = async (title: string): Promise<void> => {
      expect((await rest(server, 'POST', '/bug-reports/', 'reporter', { title })).status).toBe(201);
    };
    await post(titles[0]!);
    const parsed = (): Line[] => cli.lines.map((l) => JSON.parse(l) as Line);
    await cli.until(() => parsed().length === 1, 'the first event');

    proxy.stall();
    for (const t of titles.slice(1, 4)) await post(t);
    await cli.until(
      () => /no frame from the server for \d+ ms/.test(cli.stderr()),
      'the lost line',
      HEARTBEAT_MS + GRACE_MS + SLACK_MS,
    );
    await cli.until(() => (cli.stderr().match(/live as user 42/g) ?? []).length === 2, 'the reconnect');
    expect(proxy.connections()).toBe(2);
    for (const t of titles.slice(4)) await post(t);
    await cli.until(() => parsed().length >= titles.length, 'every event');
    expect(parsed().map((l) => l.payload.title)).toEqual(titles);
    expect(cli.stderr()).toMatch(/resumed/);
  });

  it('takes the heartbeat interval the server advertises in connection_established', async () => {
    const server = await startTestServer({ heartbeatIntervalMs: 700 });
    const client = createClient({ url: server.url, token: mintTokenSync({ secret: TEST_SECRET, userId: '1' }), maxRetries: 1 });
    onTestFinished(() => client.close());
    await client.connect();
    expect(client.heartbeatMs).toBe(700);
  });
});
