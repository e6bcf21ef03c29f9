// A lean receive-only WebSocket client for the bench: one net socket per connection reading into one
// shared buffer (net's `onread`, no stream machinery), and a minimal RFC 6455 frame parser. At 80,000
// deliveries/s on 2 cores, `ws`'s client costs about as much CPU as the server under test; this one
// costs a fraction, so the figures stay the server's. Text frames are handed to the caller as views
// into the shared buffer, valid only during the callback. Replies to ping and close; never sends data.
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RawWsHandlers {
  /** Once the 101 arrived. */
  onOpen(): void;
  /** A complete text frame (fragments joined). The buffer is only valid during the call. */
  onText(payload: Buffer): void;
  /** Handshake refused, socket error, or closed (code from a close frame, or 1006). */
  onClose(code: number, reason: string): void;
}

export interface RawWsOptions {
  localAddress?: string;
  handshakeTimeoutMs: number;
}

const shared = { buffer: Buffer.allocUnsafe(256 * 1024) };
const HEADER_END = Buffer.from('\r\n\r\n');

function mask(opcode: number, payload: Buffer): Buffer {
  const key = randomBytes(4);
  const frame = Buffer.allocUnsafe(6 + payload.length); // control frames only: payload < 126 bytes
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | payload.length;
  key.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ key[i & 3]!;
  return frame;
}

export class RawWsClient {
  private readonly socket: Socket;
  private open = false;
  private closed = false;
  /** Bytes of an incomplete frame (or handshake) carried over to the next read. */
  private pending: Buffer | undefined;
  private fragments: Buffer[] | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(url: string, options: RawWsOptions, private readonly handlers: RawWsHandlers) {
    const u = new URL(url);
    this.socket = connect({
      host: u.hostname,
      port: Number(u.port || 80),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      noDelay: true,
      onread: {
        buffer: shared.buffer,
        callback: (nread: number, buf: Uint8Array) => {
          this.onData(Buffer.from(buf.buffer, buf.byteOffset, nread));
          return true;
        },
      },
    });
    this.timer = setTimeout(() => this.fail(1006, 'handshake timeout'), options.handshakeTimeoutMs);
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.socket.on('error', (err) => this.fail(1006, err.message));
    this.socket.on('close', () => this.fail(1006, 'socket closed'));
  }

  /** Drop the connection without a close handshake. */
  terminate(): void {
    this.socket.destroy();
    this.fail(1006, 'terminated');
  }

  private fail(code: number, reason: string, destroy = true): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    if (destroy) this.socket.destroy();
    this.handlers.onClose(code, reason);
  }

  private onData(chunk: Buffer): void {
    let data = chunk;
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    if (!this.open) {
      const end = data.indexOf(HEADER_END);
      if (end < 0) {
        if (data.length > 16 * 1024) return this.fail(1006, 'handshake response too large');
        this.pending = Buffer.from(data);
        return;
      }
      const status = data.toString('latin1', 0, data.indexOf(13));
      if (!/^HTTP\/1\.1 101/.test(status)) return this.fail(1006, `handshake refused: ${status}`);
      this.open = true;
      clearTimeout(this.timer);
      this.handlers.onOpen();
      data = data.subarray(end + 4);
    }
    this.parseFrames(data);
  }

  private parseFrames(data: Buffer): void {
    let off = 0;
    while (!this.closed) {
      const left = data.length - off;
      if (left < 2) break;
      const b0 = data[off]!;
      const b1 = data[off + 1]!;
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (left < 4) break;
        len = data.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (left < 10) break;
        len = Number(data.readBigUInt64BE(off + 2));
        head = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      if (masked) head += 4;
      if (left < head + len) break;
      let payload = data.subarray(off + head, off + head + len);
      if (masked) {
        const key = data.subarray(off + head - 4, off + head);
        payload = Buffer.from(payload);
        for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
      }
      off += head + len;
      this.onFrame(b0 & 0x80 ? true : false, b0 & 0x0f, payload);
    }
    if (off < data.length && !this.closed) this.pending = Buffer.from(data.subarray(off));
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x1:
      case 0x0:
        if (fin && !this.fragments) {
          this.handlers.onText(payload);
          return;
        }
        (this.fragments ??= []).push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = undefined;
          this.handlers.onText(whole);
        }
        return;
      case 0x8: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.length > 2 ? payload.toString('utf8', 2) : '';
        this.socket.end(mask(0x8, payload.subarray(0, 2)));
        this.fail(code, reason, false);
        return;
      }
      case 0x9:
        this.socket.write(mask(0xa, payload.length < 126 ? payload : payload.subarray(0, 125)));
        return;
      default:
        return; // pong and binary frames: nothing to do in the bench
    }
  }
}
