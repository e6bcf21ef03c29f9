// Two instances changing the same reports at once: every client sees each report's events in the order
// the store applied the changes (the oracle is Redis's MONITOR feed of the writes), its last `updated`
// equals what GET returns, and no `updated` ever follows `deleted`.
import { pollUntil } from '../helpers/events.ts';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { BugReport, ServerMessage } from '../../src/protocol/index.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';
import { connectClient, rest, type TestClient } from '../helpers/server.ts';
import { spawnServer, WAIT_MS, type ServerChild } from './cluster.ts';

const BUGS_KEY = 'bugzapp:bugs';

/** Every state of every bug report as Redis stored it, in the order Redis applied the writes. */
async function watchWrites(url: string): Promise<{ states: Map<number, (BugReport | 'deleted')[]> }> {
  const conn = new Redis(url, { lazyConnect: true });
  await conn.connect();
  const monitor = await conn.monitor();
  onTestFinished(() => {
    monitor.disconnect();
    conn.disconnect();
  });
  const states = new Map<number, (BugReport | 'deleted')[]>();
  const add = (id: number, s: BugReport | 'deleted'): void => {
    const list = states.get(id) ?? [];
    list.push(s);
    states.set(id, list);
  };
  monitor.on('monitor', (_time: string, args: string[]) => {
    const cmd = args[0]?.toLowerCase();
    if (args[1] !== BUGS_KEY) return;
    if (cmd === 'hset') add(Number(args[2]), JSON.parse(args[3]!) as BugReport);
    if (cmd === 'hdel') add(Number(args[2]), 'deleted');
  });
  return { states };
}

type Seen = BugReport | 'deleted';

/** The `bug_report` events of one client for one report, as states ('deleted' for a delete). */
function seenBy(client: TestClient, id: number): { action: string; state: BugReport }[] {
  return client.recorder.messages
    .filter((m): m is Extract<ServerMessage, { type: 'bug_report' }> => m.type === 'bug_report' && m.payload.id === id)
    .map((m) => ({ action: m.action, state: m.payload }));
}

describe.skipIf(skipRedis())('changes to one report through two instances', () => {
  let redis: RedisServer;
  let a: ServerChild;
  let b: ServerChild;
  let clients: TestClient[];

  beforeEach(async () => {
    redis = await RedisServer.start();
    [a, b] = await Promise.all([spawnServer(redis.url), spawnServer(redis.url)]);
    clients = [];
    for (const s of [a, b]) for (let i = 0; i < 2; i++) clients.push(await connectClient(s, `watcher-${clients.length}`));
  });
  afterEach(async () => {
    await redis.stop();
  });

  it('publishes PATCHes in store order: each client sees every stored state in order, the last equal to GET', async () => {
    const writes = await watchWrites(redis.url);
    const ids: number[] = [];
    for (let r = 0; r < 5; r++) {
      const res = await rest(a, 'POST', '/bug-reports/', 'reporter', { title: `report-${r}` });
      expect(res.status).toBe(201);
      ids.push((res.body as BugReport).id);
    }
    for (let round = 0; round < 10; round++) {
      // a round: 10 PATCHes to each report at once, the five reports at the same time
      const answers = await Promise.all(
        ids.flatMap((id, r) =>
          Array.from({ length: 10 }, (_, i) =>
            rest(i % 2 ? b : a, 'PATCH', `/bug-reports/${id}`, 'editor', {
              description: `r${r}-round${round}-p${i}`,
              ...(i % 3 === 0 ? { title: `report-${r}-t${round}-${i}` } : {}),
            }),
          ),
        ),
      );
      for (const res of answers) expect(res.status).toBe(200);
      for (const id of ids) {
        const stored = (await rest(a, 'GET', `/bug-reports/${id}`, 'reader')).body as BugReport;
        const expected = (writes.states.get(id) ?? []) as Seen[];
        // the MONITOR feed and the clients both catch up with GET
        await pollUntil(() => expected.length === 1 + 10 * (round + 1), `the writes to ${id}`, WAIT_MS);
        expect(expected.at(-1)).toEqual(stored);
        for (const c of clients) {
          await pollUntil(() => seenBy(c, id).length === expected.length, `the events of ${id}`, WAIT_MS);
          const seen = seenBy(c, id);
          expect(seen.map((e) => e.state)).toEqual(expected);
          expect(seen.at(-1)!.state).toEqual(stored);
        }
      }
    }
  });

  it('never lets `updated` follow `deleted`, and `deleted` carries the last stored state', async () => {
    const writes = await watchWrites(redis.url);
    for (let race = 0; race < 40; race++) {
      const created = await rest(a, 'POST', '/bug-reports/', 'reporter', { title: `race-${race}` });
      const id = (created.body as BugReport).id;
      const patches = Array.from({ length: 20 }, (_, i) =>
        rest(a, 'PATCH', `/bug-reports/${id}`, 'editor', { description: `race-${race}-p${i}` }),
      );
      const del = rest(b, 'DELETE', `/bug-reports/${id}`, 'deleter');
      const answers = await Promise.all([...patches, del]);
      expect((await del).status).toBe(204);
      const applied = answers.slice(0, 20).filter((r) => r.status === 200).length;
      for (const r of answers.slice(0, 20)) expect([200, 404]).toContain(r.status);
      const expected = writes.states.get(id) ?? [];
      await pollUntil(() => expected.at(-1) === 'deleted', `the delete of ${id}`, WAIT_MS);
      const last = expected.at(-2) as BugReport;
      expect(expected).toHaveLength(applied + 2);
      for (const c of clients) {
        await pollUntil(() => seenBy(c, id).some((e) => e.action === 'deleted'), `the deleted event of ${id}`, WAIT_MS);
        const seen = seenBy(c, id);
        expect(seen.at(-1)!.action).toBe('deleted');
        expect(seen.filter((e) => e.action === 'updated')).toHaveLength(applied);
        expect(seen.at(-1)!.state).toEqual(last);
      }
    }
  });
});
