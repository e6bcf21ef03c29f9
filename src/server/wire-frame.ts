// The fan-out fast path: an event's complete WebSocket frame (RFC 6455 header + payload) is built once
// and the same bytes are written to every recipient's socket, one write each, with no per-recipient
// header, option object or cork/uncork. Only used when ws's own sender is idle (no compression, no
// queued frame, no fragmented message under way), which keeps the byte order on the wire exactly what
// ws.send would have produced; otherwise it falls back to ws.send. Every frame ws itself writes (pong,
// ping, close, a send) reaches socket.write whole and synchronously while the sender is idle, so a
// direct write can only land between frames; and ws.bufferedAmount reads the socket's writable length,
// so the slow-consumer check sees these bytes too.
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';

const OPCODE_TEXT = 0x01;
const FIN = 0x80;

/** An unmasked, final text frame carrying `payload` (server-to-client frames are never masked). */
export function buildTextFrame(payload: Buffer): Buffer {
  const len = payload.length;
  const headerLength = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + len);
  frame[0] = FIN | OPCODE_TEXT;
  if (len < 126) {
    frame[1] = len;
  } else if (len < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    frame.writeUInt32BE(len >>> 0, 6);
  }
  payload.copy(frame, headerLength);
  return frame;
}

interface WsInternals {
  _socket?: Duplex & { writableLength: number };
  _sender?: { _state?: number; _queue?: unknown[]; _firstFragment?: boolean };
}

/** ws's Sender state when nothing is being deflated or read from a Blob. */
const SENDER_IDLE = 0;

/** The socket to write pre-built frames to, or undefined when ws.send must be used. */
export function directSocket(ws: WebSocket): (Duplex & { writableLength: number }) | undefined {
  const w = ws as unknown as WsInternals;
  const sender = w._sender;
  if (!sender || sender._state !== SENDER_IDLE || (sender._queue && sender._queue.length > 0)) return undefined;
  // after a send with fin: false only continuation frames may follow until the message ends
  if (sender._firstFragment === false) return undefined;
  return w._socket;
}

/** Whether this ws build exposes what the fast path relies on (checked once per connection). */
export function supportsDirectWrite(ws: WebSocket): boolean {
  const w = ws as unknown as WsInternals;
  return (
    w._socket !== undefined &&
    typeof w._socket.write === 'function' &&
    w._sender !== undefined &&
    typeof w._sender._state === 'number' &&
    Array.isArray(w._sender._queue) &&
    typeof w._sender._firstFragment === 'boolean' &&
    ws.extensions === ''
  );
}
