// A raw WebSocket to the server under test, for cases that must see exactly what came back: the HTTP
// answer of a refused handshake, the first frame, every frame in order, the close code. The protocol
// client (src/client) hides these on purpose (it reconnects, resumes, drops duplicates), so cases
// watch the wire here and use src/client for what they only need done (REST, minting).
import WebSocket from 'ws';
import { decodeServerMessage, type ServerMessage } from '../protocol/index.ts';

export interface WireConn {
  ws: WebSocket;
  /** Every decoded server message, in arrival order (types this version does not know are skipped). */
  messages: ServerMessage[];
  /** Frames that were not valid server messages (or binary), as text. */
  invalid: string[];
  /** Set once the socket closed. */
  closeInfo: { code: number; reason: string } | undefined;
  closed: Promise<{ code: number; reason: string }>;
  /** The first message matching, already received or still to come; undefined after `ms` or a close. */
  waitFor(predicate: (m: ServerMessage) => boolean, ms: number): Promise<ServerMessage | undefined>;
  /** Resolves with the close, or undefined after `ms`. */
  waitClosed(ms: number): Promise<{ code: number; reason: string } | undefined>;
  isOpen(): boolean;
  close(): Promise<void>;
}

export type Handshake =
  | { kind: 'open'; conn: WireConn }
  /** Answered with HTTP instead of an upgrade. */
  | { kind: 'refused'; status: number; body: unknown; text: string }
  | { kind: 'failed'; error: string };

export function openWire(url: string, timeoutMs: number): Promise<Handshake> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const messages: ServerMessage[] = [];
    const invalid: string[] = [];
    let waiters: { predicate: (m: ServerMessage) => boolean; done: (m: ServerMessage | undefined) => void }[] = [];
    let closeWaiters: ((c: { code: number; reason: string } | undefined) => void)[] = [];
    let settled = false;
    let resolveClosed!: (c: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
    const conn: WireConn = {
      ws,
      messages,
      invalid,
      closeInfo: undefined,
      closed,
      waitFor(predicate, ms) {
        const found = messages.find(predicate);
        if (found) return Promise.resolve(found);
        if (conn.closeInfo) return Promise.resolve(undefined);
        return new Promise((done) => {
          const w = {
            predicate,
            done: (m: ServerMessage | undefined) => {
              clearTimeout(timer);
              waiters = waiters.filter((x) => x !== w);
              done(m);
            },
          };
          const timer = setTimeout(() => w.done(undefined), ms);
          waiters.push(w);
        });
      },
      waitClosed(ms) {
        if (conn.closeInfo) return Promise.resolve(conn.closeInfo);
        return new Promise((done) => {
          const finish = (c: { code: number; reason: string } | undefined): void => {
            clearTimeout(timer);
            closeWaiters = closeWaiters.filter((x) => x !== finish);
            done(c);
          };
          const timer = setTimeout(() => finish(undefined), ms);
          closeWaiters.push(finish);
        });
      },
      isOpen: () => ws.readyState === WebSocket.OPEN,
      async close() {
        if (ws.readyState === WebSocket.CLOSED) return;
        if (ws.readyState === WebSocket.CONNECTING) {
          ws.terminate();
          return;
        }
        ws.close(1000);
        const c = await conn.waitClosed(2000);
        if (!c) ws.terminate();
      },
    };
    ws.on('message', (data, isBinary) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
      if (isBinary) {
        invalid.push(text);
        return;
      }
      let msg: ServerMessage | undefined;
      try {
        msg = decodeServerMessage(text);
      } catch {
        invalid.push(text.slice(0, 200));
        return;
      }
      if (!msg) return;
      messages.push(msg);
      for (const w of [...waiters]) if (w.predicate(msg)) w.done(msg);
    });
    ws.on('close', (code, reason) => {
      conn.closeInfo = { code, reason: reason.toString() };
      resolveClosed(conn.closeInfo);
      for (const w of [...waiters]) w.done(undefined);
      for (const c of [...closeWaiters]) c(conn.closeInfo);
    });
    ws.on('open', () => {
      settled = true;
      resolve({ kind: 'open', conn });
    });
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        settled = true;
        resolve({ kind: 'refused', status: res.statusCode ?? 0, body, text: text.slice(0, 200) });
        ws.terminate();
      });
      res.on('error', () => undefined);
    });
    ws.on('error', (err) => {
      if (settled) return;
      settled = true;
      resolve({ kind: 'failed', error: err.message });
    });
  });
}
