// Authentication before the upgrade: a refused handshake gets a raw HTTP 403 with a JSON body and no
// WebSocket is ever allocated for it (protocol.md section 2).
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { AuthError } from '../errors.ts';
import { ErrorText, RestPath, verifyToken } from '../protocol/index.ts';
import type { Handshake } from './connection.ts';
import type { RefusalReason, ServerMetrics } from './metrics.ts';

export interface UpgradeContext {
  wss: WebSocketServer;
  metrics: ServerMetrics;
  secret: string;
  issuer: string | undefined;
  audience: string | undefined;
  clock: () => number;
  isClosing: () => boolean;
  onConnection: (ws: WebSocket, handshake: Handshake) => void;
}

const STATUS_TEXT: Record<number, string> = { 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

/** Answer a handshake with a plain HTTP response and close the socket (what ws's abortHandshake does). */
export function refuseHandshake(socket: Duplex, status: number, detail: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ detail });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}

/** The token of a handshake: `?token=`, else an `Authorization: Bearer` header. */
function tokenOf(url: URL, req: IncomingMessage): string | undefined {
  const q = url.searchParams.get('token');
  if (q) return q;
  const h = req.headers.authorization;
  if (h && /^bearer\s+/i.test(h)) return h.replace(/^bearer\s+/i, '').trim() || undefined;
  return undefined;
}

export function attachUpgradeHandler(server: HttpServer, ctx: UpgradeContext): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void handleUpgrade(ctx, req, socket, head);
  });
}

async function handleUpgrade(ctx: UpgradeContext, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  // until ws takes the socket over, a reset by the peer must not become an uncaught error
  const onError = (): void => {
    socket.destroy();
  };
  socket.on('error', onError);
  const refuse = (reason: RefusalReason, status: number, detail: string): void => {
    ctx.metrics.refusedHandshakes.inc({ reason });
    refuseHandshake(socket, status, detail);
  };
  if (ctx.isClosing()) return refuse('shutting_down', 503, 'Server shutting down');
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return refuse('bad_path', 404, 'Not Found');
  }
  if (url.pathname !== RestPath.ws && url.pathname !== `${RestPath.ws}/`) return refuse('bad_path', 404, 'Not Found');
  const token = tokenOf(url, req);
  if (!token) return refuse('missing_token', 403, ErrorText.NotAuthenticated);
  let verified;
  try {
    verified = await verifyToken(token, {
      secret: ctx.secret,
      ...(ctx.issuer ? { issuer: ctx.issuer } : {}),
      ...(ctx.audience ? { audience: ctx.audience } : {}),
      now: Math.floor(ctx.clock() / 1000),
    });
  } catch (err) {
    const expired = err instanceof AuthError && err.code === 'ERR_AUTH_TOKEN_EXPIRED';
    return refuse(expired ? 'expired_token' : 'invalid_token', 403, ErrorText.InvalidToken);
  }
  if (socket.destroyed) return;
  if (ctx.isClosing()) return refuse('shutting_down', 503, 'Server shutting down');
  const since = url.searchParams.get('since') || undefined;
  socket.off('error', onError);
  ctx.wss.handleUpgrade(req, socket, head, (ws) => {
    ctx.onConnection(ws, { userId: verified.userId, exp: verified.exp, since });
  });
}
