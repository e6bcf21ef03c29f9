// The default transport: the `ws` library's WebSocket (ws:// and wss://, any `ws` client option).
import type { IncomingMessage } from 'node:http';
import WebSocket, { type ClientOptions as WsClientOptions } from 'ws';
import type { Transport, TransportOptions, TransportSink } from './transport.ts';

const MAX_ERROR_BODY = 4096;

export class WsTransport<O> implements Transport {
  private readonly ws: WebSocket;

  constructor(options: TransportOptions, wsOptions: WsClientOptions, sink: TransportSink<O>, owner: O) {
    const ws = new WebSocket(options.url, {
      perMessageDeflate: false,
      handshakeTimeout: options.handshakeTimeout,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      ...wsOptions,
    });
    this.ws = ws;
    let lastError: Error | undefined;
    let refused = false;
    ws.on('open', () => sink.open(owner, this));
    ws.on('message', (data, isBinary) => {
      if (isBinary) sink.heard(owner, this);
      else sink.text(owner, this, data as Buffer);
    });
    const heard = (): void => sink.heard(owner, this);
    ws.on('ping', heard);
    ws.on('pong', heard);
    ws.on('error', (err) => {
      lastError = err;
    });
    ws.on('unexpected-response', (req, res) => {
      refused = true;
      void readBody(res).then((body) => {
        req.destroy();
        sink.refused(owner, this, res.statusCode ?? 0, body);
      });
    });
    ws.on('close', (code, reason) => {
      if (refused) return;
      sink.closed(owner, this, code, reason.length > 0 ? reason.toString() : '', code === 1006 ? lastError : undefined);
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get isConnecting(): boolean {
    return this.ws.readyState === WebSocket.CONNECTING;
  }

  send(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  ping(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  close(code: number): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code);
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  terminate(): void {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  get isPaused(): boolean {
    return this.ws.isPaused;
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (body.length < MAX_ERROR_BODY) body += chunk;
    });
    res.on('end', () => resolve(body));
    res.on('error', () => resolve(body));
    res.on('close', () => resolve(body));
  });
}
