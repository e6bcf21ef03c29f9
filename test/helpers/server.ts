// Starts the reference server on a free loopback port for a test and closes it when the test ends.
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { createServer, type RunningServer, type ServeOptions } from '../../src/server/index.ts';
import { mintToken, type MintTokenOptions } from '../../src/protocol/index.ts';
import { MessageRecorder } from './ws.ts';

export const TEST_SECRET = 'bugzapp-test-secret';

/** createServer on 127.0.0.1:0 with TEST_SECRET; closed automatically when the calling test finishes. */
export async function startTestServer(options: ServeOptions = {}): Promise<RunningServer> {
  const server = await createServer({ host: '127.0.0.1', port: 0, secret: TEST_SECRET, ...options });
  onTestFinished(() => server.close());
  return server;
}

/** A valid token for `userId` signed with TEST_SECRET (or `options.secret`). */
export function testToken(userId: string | number, options: Partial<MintTokenOptions> = {}): Promise<string> {
  return mintToken({ secret: TEST_SECRET, ...options, userId });
}

export interface TestClient {
  ws: WebSocket;
  recorder: MessageRecorder;
}

/**
 * Open a WebSocket to `server` as `userId` and wait for connection_established; closed when the test
 * finishes. `query` adds parameters (e.g. `{ since }`); `wsOptions` go to the ws client.
 */
export async function connectClient(
  server: { wsUrl: string },
  userId: string | number,
  query: Record<string, string> = {},
  wsOptions: WebSocket.ClientOptions = {},
  tokenOptions: Partial<MintTokenOptions> = {},
): Promise<TestClient> {
  const token = await testToken(userId, tokenOptions);
  const url = new URL(server.wsUrl);
  url.searchParams.set('token', token);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ws = new WebSocket(url, { perMessageDeflate: false, ...wsOptions });
  onTestFinished(() => {
    if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
  });
  const recorder = new MessageRecorder(ws);
  await recorder.waitFor((m) => m.type === 'connection_established');
  return { ws, recorder };
}

/** fetch a REST path of `server` as `userId` (or with no token when `userId` is null). */
export async function rest(
  server: { url: string },
  method: string,
  path: string,
  userId: string | number | null,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (userId !== null) headers.authorization = `Bearer ${await testToken(userId)}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${server.url}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/**
 * Attempt a WebSocket handshake that the server must refuse: resolves with the HTTP status and the
 * parsed JSON body; rejects if the upgrade succeeds.
 */
export function expectRefusedHandshake(url: string, timeoutMs = 10_000): Promise<{ status: number; body: unknown; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('handshake neither refused nor accepted in time'));
    }, timeoutMs);
    ws.on('open', () => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error('the server accepted a handshake it should refuse'));
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep the text
        }
        resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] });
        ws.terminate();
      });
    });
  });
}

/** The value of one sample of the Prometheus text, or undefined when absent. */
export async function metricValue(server: RunningServer, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await server.registry.getSingleMetric(name)?.get();
  if (!metric) return undefined;
  const sample = metric.values.find((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val));
  return sample?.value;
}

/** A loopback port that nothing listens on right now (for connection-refused cases). */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
