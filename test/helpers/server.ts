// Starts the reference server on a free loopback port for a test and closes it when the test ends.
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
