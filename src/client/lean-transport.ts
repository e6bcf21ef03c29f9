// The lean WebSocket transport (ws:// only): one net socket per connection, read with net's `onread`
// into one buffer shared by every connection of the thread (no Readable stream, no per-read Buffer
// copies), and a minimal RFC 6455 client: the opening handshake with its Sec-WebSocket-Accept check,
// text frames (fragments joined), ping -> masked pong, close frames answered, masked text sends. Made
// for the load tester, which holds tens of thousands of connections and receives 100,000 frames/s: a
// connection costs this object and its socket, no closures (one shared set of socket listeners finds
// the transport through the socket). Text frames reach the sink as views of the shared buffer when
// they arrived whole in one read; they are valid only during the call.
import { createHash, randomFillSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Transport, TransportOptions, TransportSink } from './transport.ts';

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HEADER_END = Buffer.from('\r\n\r\n');
/** The largest frame (or joined message) accepted; a bigger one closes with 1009. */
const MAX_PAYLOAD = 64 * 1024 * 1024;
/** The largest handshake response head, and the most of a refusal's body that is kept. */
const MAX_HEAD = 16 * 1024;
const MAX_BODY = 4096;

/** After a close handshake, how long the server has to close the TCP connection before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

const OWNER: unique symbol = Symbol('leanTransport');
type OwnedSocket = Socket & { [OWNER]?: LeanTransport<unknown> };

// mask keys: drawn from the CSPRNG in blocks, four bytes at a time
const keyPool = Buffer.allocUnsafe(4096);
let keyAt = keyPool.length;
function nextKey(): number {
  if (keyAt + 4 > keyPool.length) {
    randomFillSync(keyPool);
    keyAt = 0;
  }
  const at = keyAt;
  keyAt += 4;
  return at;
}

/** A masked frame of `opcode` carrying `payload` (a client must mask everything it sends). */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + 4 + len);
  frame[0] = 0x80 | opcode;
  if (len < 126) frame[1] = 0x80 | len;
  else if (len < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  const k = nextKey();
  keyPool.copy(frame, head, k, k + 4);
  const off = head + 4;
  for (let i = 0; i < len; i++) frame[off + i] = payload[i]! ^ keyPool[k + (i & 3)]!;
  return frame;
}

function expectedAccept(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

// one set of socket listeners for every lean connection: `this` is the socket
function onRead(this: OwnedSocket, nread: number, buf: Uint8Array): boolean {
  this[OWNER]?.onBytes(buf as Buffer, nread);
  return true;
}
function onConnect(this: OwnedSocket): void {
  this[OWNER]?.onConnect();
}
function onError(this: OwnedSocket, err: Error): void {
  this[OWNER]?.onSocketError(err);
}
function onClose(this: OwnedSocket): void {
  this[OWNER]?.onSocketClose();
}
function destroyLater(socket: Socket): void {
  socket.destroy();
}
function onHandshakeTimer(t: LeanTransport<unknown>): void {
  t.onHandshakeTimeout();
}

const enum Phase {
  Handshake,
  /** 101 seen; frames flow. */
  Open,
  /** A refusal: reading its body. */
  Body,
  /** A close frame was sent; waiting for the server's. */
  Closing,
  Done,
}

export class LeanTransport<O> implements Transport {
  private readonly socket: OwnedSocket;
  private phase = Phase.Handshake;
  private key: string;
  private request: string;
  /** Bytes not yet consumed (an incomplete frame or head), copied out of the shared buffer. */
  private carry: Buffer | undefined;
  private carryLen = 0;
  /** Fragments of a message in progress. */
  private fragments: Buffer[] | undefined;
  private fragmentBytes = 0;
  /** A refusal: status, and how much body is expected (-1 = to the end of the socket, -2 = chunked). */
  private refusal: { status: number; want: number; body: Buffer[]; got: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  /** The carry being consumed: reused for what is left of it (memmove), then let go. */
  private spare: Buffer | undefined;

  constructor(
    options: TransportOptions,
    private readonly sink: TransportSink<O>,
    private readonly owner: O,
  ) {
    const u = new URL(options.url);
    if (u.protocol !== 'ws:') throw new Error(`the lean transport speaks ws:// only, not ${u.protocol}`);
    const key = Buffer.allocUnsafe(16);
    randomFillSync(key);
    this.key = key.toString('base64');
    this.request =
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const socket: OwnedSocket = connect({
      host: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: Number(u.port || 80),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: onRead },
    });
    socket[OWNER] = this as LeanTransport<unknown>;
    socket.on('connect', onConnect);
    socket.on('error', onError);
    socket.on('close', onClose);
    // a timer only while the handshake lasts (no closure: the transport is its argument)
    this.timer = setTimeout(onHandshakeTimer, options.handshakeTimeout, this);
    this.socket = socket;
  }

  get isOpen(): boolean {
    return this.phase === Phase.Open;
  }

  get isConnecting(): boolean {
    return this.phase === Phase.Handshake;
  }

  send(text: string): void {
    if (this.phase !== Phase.Open) return;
    this.socket.write(maskedFrame(0x1, Buffer.from(text, 'utf8')));
  }

  ping(): void {
    if (this.phase !== Phase.Open) return;
    this.socket.write(maskedFrame(0x9, Buffer.alloc(0)));
  }

  close(code: number): void {
    if (this.phase !== Phase.Open) {
      if (this.phase === Phase.Handshake || this.phase === Phase.Body) this.terminate();
      return;
    }
    this.phase = Phase.Closing;
    const payload = Buffer.allocUnsafe(2);
    payload.writeUInt16BE(code, 0);
    this.socket.write(maskedFrame(0x8, payload));
  }

  terminate(): void {
    this.end(1006, '', undefined);
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.socket.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  // ---- socket events (through the shared listeners) ------------------------------------------

  /** @internal */
  onConnect(): void {
    if (this.phase === Phase.Handshake) this.socket.write(this.request);
  }

  /** @internal */
  onSocketError(err: Error): void {
    this.end(1006, '', err);
  }

  /** @internal */
  onSocketClose(): void {
    if (this.phase === Phase.Body) {
      this.refused();
      return;
    }
    this.end(1006, '', this.phase === Phase.Handshake ? new Error('socket closed before the handshake was answered') : undefined);
  }

  /** @internal */
  onHandshakeTimeout(): void {
    if (this.phase === Phase.Handshake || this.phase === Phase.Body) this.end(1006, '', new Error('Opening handshake has timed out'));
  }

  /** @internal `buf` is the shared read buffer: `nread` bytes of it are this socket's. */
  onBytes(buf: Buffer, nread: number): void {
    if (this.phase === Phase.Done) return;
    if (this.carry === undefined) {
      this.consume(buf, 0, nread);
      return;
    }
    this.append(buf, 0, nread);
    const carry = this.carry;
    const len = this.carryLen;
    this.carry = undefined;
    this.carryLen = 0;
    this.spare = carry;
    this.consume(carry, 0, len);
    this.spare = undefined;
  }

  // ---- parsing -------------------------------------------------------------------------------

  /** Keep bytes [from, to) of `buf` for the next read (the carry grows by doubling). */
  private append(buf: Buffer, from: number, to: number): void {
    const n = to - from;
    const need = this.carryLen + n;
    let carry = this.carry;
    if (carry === undefined && this.spare !== undefined && this.spare.length >= need) {
      // what is left of the carry being consumed moves to its start (copy is a memmove)
      carry = this.spare;
      this.spare = undefined;
      this.carry = carry;
    } else if (carry === undefined || carry.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, carry ? carry.length * 2 : 1024));
      if (carry) carry.copy(grown, 0, 0, this.carryLen);
      carry = grown;
      this.carry = grown;
    }
    buf.copy(carry, this.carryLen, from, to);
    this.carryLen = need;
  }

  private consume(buf: Buffer, from: number, to: number): void {
    let off = from;
    if (this.phase === Phase.Handshake) {
      off = this.handshake(buf, from, to);
      if (off < 0) return;
    }
    if (this.phase === Phase.Body) {
      this.body(buf, off, to);
      return;
    }
    while (this.phase === Phase.Open || this.phase === Phase.Closing) {
      const left = to - off;
      if (left < 2) break;
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (left < 4) break;
        len = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (left < 10) break;
        const hi = buf.readUInt32BE(off + 2);
        len = hi > 0x1fffff ? Infinity : hi * 0x100000000 + buf.readUInt32BE(off + 6);
        head = 10;
      }
      if (len > MAX_PAYLOAD || this.fragmentBytes + len > MAX_PAYLOAD) {
        this.fail(1009, 'Max payload size exceeded');
        return;
      }
      const masked = (b1 & 0x80) !== 0;
      if (masked) head += 4;
      if (left < head + len) break;
      const start = off + head;
      const end = start + len;
      if (masked) for (let i = 0; i < len; i++) buf[start + i]! ^= buf[start - 4 + (i & 3)]!;
      off = end;
      this.frame((b0 & 0x80) !== 0, b0 & 0x0f, buf, start, end);
    }
    if (off < to && this.phase !== Phase.Done) this.append(buf, off, to);
  }

  /** Parses the response head; returns where the frames start, or -1 when not done. */
  private handshake(buf: Buffer, from: number, to: number): number {
    const at = buf.indexOf(HEADER_END, from);
    if (at < 0 || at + 4 > to) {
      if (to - from > MAX_HEAD) this.end(1006, '', new Error('handshake response head too large'));
      else this.append(buf, from, to);
      return -1;
    }
    const head = buf.toString('latin1', from, at);
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) {
      this.end(1006, '', new Error(`invalid handshake response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`));
      return -1;
    }
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (status !== 101) {
      const length = headers.get('content-length');
      const chunked = /chunked/i.test(headers.get('transfer-encoding') ?? '');
      this.phase = Phase.Body;
      this.refusal = { status, want: chunked ? -2 : length !== undefined ? Number(length) || 0 : -1, body: [], got: 0 };
      return at + 4;
    }
    if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') {
      this.end(1006, '', new Error('Invalid Upgrade header'));
      return -1;
    }
    if (headers.get('sec-websocket-accept') !== expectedAccept(this.key)) {
      this.end(1006, '', new Error('Invalid Sec-WebSocket-Accept header'));
      return -1;
    }
    this.phase = Phase.Open;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.request = '';
    this.sink.open(this.owner, this);
    return at + 4;
  }

  /** Collects a refusal's body (capped), and reports once it is complete. */
  private body(buf: Buffer, from: number, to: number): void {
    const r = this.refusal!;
    if (to > from && r.got < MAX_BODY * 2) {
      r.body.push(Buffer.from(buf.subarray(from, Math.min(to, from + MAX_BODY * 2 - r.got))));
      r.got += Math.min(to - from, MAX_BODY * 2 - r.got);
    }
    if (r.want >= 0 && r.got >= r.want) this.refused();
    else if (r.want === -2 && Buffer.concat(r.body).includes('0\r\n\r\n')) this.refused();
    else if (r.got >= MAX_BODY * 2) this.refused();
  }

  private refused(): void {
    const r = this.refusal!;
    if (this.phase === Phase.Done) return;
    this.phase = Phase.Done;
    clearTimeout(this.timer);
    this.socket.destroy();
    let body: Buffer = Buffer.concat(r.body);
    if (r.want >= 0) body = body.subarray(0, r.want);
    else if (r.want === -2) body = dechunk(body);
    this.sink.refused(this.owner, this, r.status, body.toString('utf8', 0, Math.min(body.length, MAX_BODY)));
  }

  private frame(fin: boolean, opcode: number, buf: Buffer, start: number, end: number): void {
    switch (opcode) {
      case 0x1:
      case 0x0: {
        if (opcode === 0x1 && this.fragments !== undefined) {
          this.fail(1002, 'a new message inside a fragmented one');
          return;
        }
        if (opcode === 0x0 && this.fragments === undefined) {
          this.fail(1002, 'a continuation frame with no message to continue');
          return;
        }
        if (fin && this.fragments === undefined) {
          if (this.phase === Phase.Open) this.sink.text(this.owner, this, buf.subarray(start, end));
          return;
        }
        (this.fragments ??= []).push(Buffer.from(buf.subarray(start, end)));
        this.fragmentBytes += end - start;
        if (fin) {
          const whole = Buffer.concat(this.fragments, this.fragmentBytes);
          this.fragments = undefined;
          this.fragmentBytes = 0;
          if (this.phase === Phase.Open) this.sink.text(this.owner, this, whole);
        }
        return;
      }
      case 0x2:
        // binary: the protocol has none; the line is alive all the same
        this.sink.heard(this.owner, this);
        return;
      case 0x8: {
        const len = end - start;
        const code = len >= 2 ? buf.readUInt16BE(start) : 1005;
        const reason = len > 2 ? buf.toString('utf8', start + 2, end) : '';
        if (this.phase === Phase.Open) {
          // answer with the same code (RFC 6455 5.5.1), then let the server close the TCP connection
          this.socket.write(maskedFrame(0x8, len >= 2 ? Buffer.from(buf.subarray(start, start + 2)) : Buffer.alloc(0)));
        }
        this.socket.end();
        this.end(code, reason, undefined, false);
        return;
      }
      case 0x9:
        this.sink.heard(this.owner, this);
        if (this.phase === Phase.Open) this.socket.write(maskedFrame(0xa, Buffer.from(buf.subarray(start, Math.min(end, start + 125)))));
        return;
      case 0xa:
        this.sink.heard(this.owner, this);
        return;
      default:
        this.fail(1002, `unknown opcode ${opcode}`);
    }
  }

  /** A protocol failure on our side: send a close frame with `code`, then drop the connection. */
  private fail(code: number, reason: string): void {
    if (this.phase === Phase.Open) {
      const payload = Buffer.allocUnsafe(2);
      payload.writeUInt16BE(code, 0);
      this.socket.end(maskedFrame(0x8, payload));
    }
    this.end(1006, '', new Error(reason));
  }

  private end(code: number, reason: string, error: Error | undefined, destroy = true): void {
    if (this.phase === Phase.Done) return;
    this.phase = Phase.Done;
    this.carry = undefined;
    this.fragments = undefined;
    clearTimeout(this.timer);
    if (destroy) this.socket.destroy();
    else setTimeout(destroyLater, CLOSE_GRACE_MS, this.socket).unref();
    this.sink.closed(this.owner, this, code, reason, error);
  }
}

/** The body of a chunked response (as much of it as came). */
function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  while (off < raw.length) {
    const eol = raw.indexOf('\r\n', off);
    if (eol < 0) break;
    const size = parseInt(raw.toString('latin1', off, eol), 16);
    if (!Number.isFinite(size) || size <= 0) break;
    parts.push(raw.subarray(eol + 2, Math.min(raw.length, eol + 2 + size)));
    off = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
