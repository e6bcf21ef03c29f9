// The baseline of `npm run bench`: what a competent developer writes by hand with node:http and ws in
// fifty lines. POST /bug-reports/ stores a report and broadcasts it: serialized once, ws.send to each
// client, no await per recipient; a report with an assignee also goes to the assignee's sockets as a
// `notification` (the guide's ConnectionManager.send_personal_message). No auth beyond decoding the token's `sub`, no seq, no resume, no
// rate limit, no heartbeat. Run: `tsx bench/baseline-server.ts [--port 0] [--host 127.0.0.1]`; it prints
// `baseline listening on http://HOST:PORT` once ready.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { assignmentNotificationText, encode, type BugReport } from '../src/protocol/index.ts';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});

function subOf(token: string | null): string {
  try {
    const claims = JSON.parse(Buffer.from((token ?? '').split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof claims.sub === 'string' ? claims.sub : 'anonymous';
  } catch {
    return 'anonymous';
  }
}

const clients = new Set<WebSocket>();
/** The sockets of each user (the token's `sub`), for personal messages. */
const byUser = new Map<string, Set<WebSocket>>();
const reports: BugReport[] = [];

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'POST' && (path === '/bug-reports/' || path === '/bug-reports')) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { title?: unknown; description?: unknown; severity?: unknown; assignee_id?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(422, { 'content-type': 'application/json' }).end('{"detail":"invalid JSON"}');
        return;
      }
      const now = new Date().toISOString();
      const report: BugReport = {
        id: reports.length + 1,
        title: String(body.title ?? ''),
        description: String(body.description ?? ''),
        severity: 'medium',
        status: 'open',
        assignee_id: typeof body.assignee_id === 'string' || typeof body.assignee_id === 'number' ? String(body.assignee_id) : null,
        reporter_id: subOf((req.headers.authorization ?? '').replace(/^Bearer /, '')),
        created_at: now,
        updated_at: now,
      };
      reports.push(report);
      const frame = encode({ type: 'bug_report', action: 'created', payload: report });
      for (const ws of clients) ws.send(frame);
      const assigned = report.assignee_id === null ? undefined : byUser.get(report.assignee_id);
      if (assigned) {
        const note = encode({ type: 'notification', payload: { message: assignmentNotificationText(report.title), bug_report_id: report.id } });
        for (const ws of assigned) ws.send(note);
      }
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(report));
    });
    return;
  }
  if (req.method === 'GET' && path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}');
});

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const userId = subOf(new URL(req.url ?? '/', 'http://x').searchParams.get('token'));
  clients.add(ws);
  let mine = byUser.get(userId);
  if (!mine) byUser.set(userId, (mine = new Set()));
  mine.add(ws);
  const gone = (): void => {
    clients.delete(ws);
    mine.delete(ws);
    if (mine.size === 0 && byUser.get(userId) === mine) byUser.delete(userId);
  };
  ws.on('close', gone);
  ws.on('error', gone);
  ws.send(encode({ type: 'connection_established', payload: { user_id: userId } }));
});

server.listen(Number(values.port), values.host, () => {
  const addr = server.address();
  if (addr && typeof addr === 'object') process.stdout.write(`baseline listening on http://${values.host}:${addr.port}\n`);
});

const shutdown = (): void => {
  for (const ws of clients) ws.terminate();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
