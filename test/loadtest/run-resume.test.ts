// Connections cut mid-run (a proxy drops every TCP connection): the simulated clients reconnect with
// `since`, and the ledger shows nothing lost and nothing twice.
import { createServer as createHttpServer, request } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultyServer } from '../../fixtures/servers/faulty-server.ts';
import { createServer } from '../../src/server/index.ts';
import { runLoadTest, type LoadTestInput, type LoadTestResult } from '../../src/loadtest/index.ts';
import { startDropProxy } from '../client/drop-proxy.ts';

const SECRET = 'resume-secret';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** A run through a proxy that cuts every connection once `cutAt` operations were fired. */
async function runThroughCut(
  serverUrl: string,
  cutAt: number,
  input: LoadTestInput,
): Promise<{ r: LoadTestResult; cut: number; firedAtCut: number }> {
  const proxy = await startDropProxy(serverUrl);
  closers.push(() => proxy.close());
  let cut = 0;
  let firedAtCut = 0;
  const r = await runLoadTest(
    { urls: [proxy.url], secret: SECRET, skipRateLimit: true, progressIntervalMs: 20, ...input },
    {
      onProgress: (e) => {
        if (e.kind === 'fire' && e.fired >= cutAt && cut === 0) {
          firedAtCut = e.fired;
          cut = proxy.dropAll();
        }
      },
    },
  );
  return { r, cut, firedAtCut };
}

/** Proxies REST and WebSocket to `targetUrl`; after cut() every upgrade is cut and new ones get 403. */
async function startUpgradeGate(targetUrl: string): Promise<{ url: string; cut(): number }> {
  const target = new URL(targetUrl);
  const port = Number(target.port);
  let refusing = false;
  const upgraded = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    const up = request({ host: target.hostname, port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    if (refusing) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: 20\r\nconnection: close\r\n\r\n{"detail":"refused"}');
      return;
    }
    const up = connect(port, target.hostname, () => {
      const headers: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    const drop = (): void => {
      socket.destroy();
      up.destroy();
    };
    up.on('error', drop);
    socket.on('error', drop);
    upgraded.add(socket);
    socket.once('close', () => {
      upgraded.delete(socket);
      up.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const s of upgraded) s.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut() {
      refusing = true;
      const n = upgraded.size;
      for (const s of upgraded) s.destroy();
      return n;
    },
  };
}

describe('runLoadTest through dropped connections', () => {
  it('counts the reconnects and still delivers every accepted event exactly once', async () => {
    const server = await createServer({ port: 0, secret: SECRET });
    closers.push(() => server.close());
    const { r, cut } = await runThroughCut(server.url, 15, {
      users: 10,
      connsPerUser: 2,
      events: 40,
      rate: 100,
      mix: { bug_report: 80, comment: 20 },
      drainTimeoutMs: 10_000,
    });
    expect(cut).toBeGreaterThanOrEqual(20);
    expect(r.connections.reconnects).toBeGreaterThanOrEqual(20);
    expect(r.connections.dropped).toBe(0);
    const t = r.delivery.total;
    expect(t.expected).toBeGreaterThan(0);
    expect(t.missing).toBe(0);
    expect(t.duplicated).toBe(0);
    expect(t.outOfOrder).toBe(0);
    expect(t.delivered).toBe(t.expected);
    // POSTs cut in flight are errors, never expected deliveries
    expect(r.throughput.eventsAccepted + r.throughput.restErrors).toBe(40);
    expect(r.capabilities.resume.status).toBe('supported');
  });

  it('a connection that reconnects without resume is owed again what is fired once it is back', async () => {
    // no seq, no cursor: the clients can't resume, so the events of the gap are not owed; the rest are
    const server = await startFaultyServer({ secret: SECRET, seq: false });
    closers.push(() => server.close());
    const conns = 20;
    const { r, cut, firedAtCut } = await runThroughCut(server.url, 10, {
      users: 10,
      connsPerUser: 2,
      events: 100,
      rate: 50,
      mix: { bug_report: 1 },
      assignRatio: 0,
      drainTimeoutMs: 10_000,
    });
    expect(cut).toBeGreaterThanOrEqual(conns);
    expect(r.capabilities.resume.status).toBe('unsupported');
    expect(r.connections.reconnects).toBeGreaterThanOrEqual(conns);
    const b = r.delivery.byType.bug_report;
    // before: a dropped connection was never owed anything again, so only the events before the cut counted
    expect(b.expected).toBeGreaterThan(conns * (firedAtCut + 10));
    expect(b.missing).toBe(0);
    expect(b.duplicated).toBe(0);
    expect(b.delivered).toBe(b.expected);
  });

  it('a resume the server refuses (window exceeded) is a reported drop, not missing deliveries', async () => {
    // a history of 3 events: any cut longer than three POSTs can't be replayed
    const server = await createServer({ port: 0, secret: SECRET, history: 3 });
    closers.push(() => server.close());
    const { r, cut } = await runThroughCut(server.url, 5, {
      users: 5,
      connsPerUser: 2,
      events: 60,
      rate: 100,
      mix: { bug_report: 1 },
      assignRatio: 0,
      drainTimeoutMs: 5000,
    });
    expect(cut).toBeGreaterThanOrEqual(10);
    expect(r.capabilities.resume.status).toBe('supported');
    expect(r.connections.reconnects).toBeGreaterThanOrEqual(10);
    // a connection that came back past the history is a drop (one back within three POSTs resumed)
    expect(r.connections.dropped).toBeGreaterThan(0);
    expect(r.connections.dropped).toBeLessThanOrEqual(r.connections.reconnects);
    const b = r.delivery.byType.bug_report;
    expect(b.expected).toBeGreaterThan(0);
    expect(b.missing).toBe(0);
    expect(b.duplicated).toBe(0);
    expect(b.delivered).toBe(b.expected);
    // the gaps come off the live expected count too: the drain ends when all that is owed arrived
    expect(r.drainComplete).toBe(true);
  });

  it('a connection that can not come back is not owed what was fired between its loss and its giving up', async () => {
    const server = await createServer({ port: 0, secret: SECRET });
    closers.push(() => server.close());
    const gate = await startUpgradeGate(server.url);
    let cut = 0;
    const r = await runLoadTest(
      {
        urls: [gate.url],
        secret: SECRET,
        users: 3,
        connsPerUser: 2,
        events: 40,
        rate: 100,
        mix: { bug_report: 1 },
        assignRatio: 0,
        drainTimeoutMs: 2000,
        skipRateLimit: true,
        progressIntervalMs: 20,
      },
      {
        onProgress: (e) => {
          if (e.kind === 'fire' && e.fired >= 5 && cut === 0) cut = gate.cut();
        },
      },
    );
    expect(cut).toBe(6);
    expect(r.capabilities.resume.status).toBe('supported');
    // the retry after the first backoff is refused with 403: the clients stop for good
    expect(r.connections.dropped).toBe(6);
    expect(r.throughput.eventsAccepted).toBe(40);
    const b = r.delivery.byType.bug_report;
    expect(b.expected).toBeGreaterThan(0);
    expect(b.missing).toBe(0);
    expect(b.delivered).toBe(b.expected);
  });
});
