// Waiting on WebSocket traffic in tests: every wait is on an event, with a timeout that only fails.
import WebSocket from 'ws';
import { decodeServerMessage, type ServerMessage } from '../../src/protocol/index.ts';

export const DEFAULT_WAIT_MS = 10_000;

/** Records every decoded server message of `ws` from now on, and lets a test wait for one. */
export class MessageRecorder {
  readonly messages: ServerMessage[] = [];
  private waiters: { predicate: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = decodeServerMessage(data as Buffer);
      if (!msg) return;
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.predicate(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
  }

  /** The first message (already received or still to come) that matches. */
  waitFor<T extends ServerMessage = ServerMessage>(
    predicate: (m: ServerMessage) => boolean,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<T> {
    const found = this.messages.find(predicate);
    if (found) return Promise.resolve(found as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.map((m) => m.type))}`));
      }, timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
      });
    });
  }

  /** Resolves once `count` messages matching `predicate` have arrived in total. */
  async waitForCount(predicate: (m: ServerMessage) => boolean, count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<ServerMessage[]> {
    let n = 0;
    await this.waitFor((m) => predicate(m) && ++n >= count, timeoutMs).catch(() => undefined);
    const all = this.messages.filter(predicate);
    if (all.length < count) throw new Error(`expected ${count} matching messages, got ${all.length}`);
    return all;
  }

  ofType<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.messages.filter((m) => m.type === type) as Extract<ServerMessage, { type: T }>[];
  }
}

/** Resolves with the close code and reason, or rejects after the timeout. */
export function waitForClose(ws: WebSocket, timeoutMs = DEFAULT_WAIT_MS): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('socket already closed'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}
