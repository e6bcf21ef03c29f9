// What BugzappClient needs from a WebSocket, whichever library carries it: the `ws` library (the
// default: wss, proxies, general use) or the lean ws:// transport of lean-transport.ts (the load
// tester's: no stream machinery, no per-connection closures). The client keeps all protocol logic;
// a transport only moves frames. Events go to one sink object shared by every connection of a client
// kind, with the transport passed back, so a connection costs no closures.

/** Where a transport reports; `t` is the transport reporting (a client ignores a stale one). */
export interface TransportSink<O> {
  /** The 101 arrived (and its Sec-WebSocket-Accept matched). */
  open(owner: O, t: Transport): void;
  /**
   * A complete text frame (fragments joined). With the lean transport it is a view of a shared read
   * buffer, valid only during the call: copy what must be kept.
   */
  text(owner: O, t: Transport, data: Buffer): void;
  /** Any other frame from the server (ping, pong, binary): the line is alive. */
  heard(owner: O, t: Transport): void;
  /** The handshake was answered with another status than 101: its status and (capped) body. */
  refused(owner: O, t: Transport, status: number, body: string): void;
  /**
   * The connection ended: the close frame's code and reason, or 1006 with the error (socket error,
   * handshake timeout, bad handshake) when there was one. Called once, never after `refused`.
   */
  closed(owner: O, t: Transport, code: number, reason: string, error: Error | undefined): void;
}

export interface Transport {
  /** Open: the handshake is done and no close frame was sent or received. */
  readonly isOpen: boolean;
  /** Still connecting (handshake not answered yet). */
  readonly isConnecting: boolean;
  /** Send a text frame; ignored unless open. */
  send(text: string): void;
  /** Send a WebSocket ping; ignored unless open. */
  ping(): void;
  /** Start the closing handshake with `code`; `closed` follows when the server answers or the socket ends. */
  close(code: number): void;
  /** Destroy the socket without a close frame (a network drop); `closed` follows with 1006. */
  terminate(): void;
  /** Stop reading from the socket (the kernel buffers, then TCP pushes back on the server). */
  pause(): void;
  /** Read again after `pause()`. */
  resume(): void;
  /** Paused by `pause()` and not resumed since. */
  readonly isPaused: boolean;
}

export interface TransportOptions {
  /** ws:// or wss:// URL with path and query. */
  url: string;
  localAddress: string | undefined;
  /** Opening handshake timeout, ms. */
  handshakeTimeout: number;
}

/** The two transports; `lean` speaks ws:// only. */
export type TransportKind = 'ws' | 'lean';
