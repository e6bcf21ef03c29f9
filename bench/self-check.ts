// `npx tsx bench/self-check.ts`: proves the bench's delivery checks can fail. A deliberately faulty
// broadcaster (in this process) drops one event at one connection, sends one twice to another and swaps
// two for a third; the bench's fan-out measurement must report exactly those faults. Exit 0 when it does.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { encode } from '../src/protocol/index.ts';
import { measureFanout } from './measure.ts';
import type { ServerProcess } from './server-process.ts';

const clients: WebSocket[] = [];
let lastId = 0;
let held: string | undefined;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const input = JSON.parse(body) as { title: string; description: string };
    const id = ++lastId;
    const now = new Date().toISOString();
    const frame = encode({
      type: 'bug_report',
      action: 'created',
      payload: { id, title: input.title, description: input.description, severity: 'low', status: 'open', assignee_id: null, reporter_id: 'x', created_at: now, updated_at: now },
    });
    clients.forEach((ws, i) => {
      if (i === 0 && id === 5) return; // lost
      if (i === 2 && id === 9) {
        held = frame; // sent after 10
        return;
      }
      ws.send(frame);
      if (i === 1 && id === 7) ws.send(frame); // duplicated
      if (i === 2 && id === 10 && held) ws.send(held);
    });
    res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
  });
});
const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws) => {
  clients.push(ws);
  ws.send(encode({ type: 'connection_established' }));
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as { port: number };
const self: ServerProcess = {
  name: 'faulty',
  url: `http://127.0.0.1:${port}`,
  pid: process.pid,
  stderrTail: () => '',
  alive: () => true,
  close: async () => undefined,
};
const r = await measureFanout(
  { name: 'faulty', processes: [self] },
  { secret: 'self-check', workers: 1, localAddresses: [], connections: 3, rate: 50, count: 15, warmup: 0, drainTimeoutMs: 3000, log: () => undefined },
);
const got = { expected: r.expected, received: r.received, missing: r.missing, duplicates: r.duplicates, outOfOrder: r.outOfOrder, allArrived: r.allArrived };
const want = { expected: 45, received: 45, missing: 1, duplicates: 1, outOfOrder: 1, allArrived: false };
const ok = JSON.stringify(got) === JSON.stringify(want);
process.stdout.write(`${ok ? 'ok' : 'FAILED'}: ${JSON.stringify(got)}${ok ? '' : ` (wanted ${JSON.stringify(want)})`}\n`);
for (const ws of clients) ws.terminate();
wss.close();
server.close();
process.exit(ok ? 0 : 1);
