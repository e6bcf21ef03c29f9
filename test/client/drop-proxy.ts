// A loopback TCP proxy in front of a server, so a test can cut live connections (what a crash, a load
// balancer or the network does) without any hook inside the server.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

export interface DropProxy {
  /** http://127.0.0.1:<proxy port> */
  url: string;
  /** Destroy both sides of every proxied connection; returns how many were cut. */
  dropAll(): number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Send new connections to another server (a load balancer failing over). */
  setTarget(url: string): void;
  close(): Promise<void>;
}

export async function startDropProxy(targetUrl: string): Promise<DropProxy> {
  let target = new URL(targetUrl);
  const pairs = new Set<[Socket, Socket]>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connect(Number(target.port), target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: DropProxy = {
    url: `http://127.0.0.1:${port}`,
    dropAll() {
      const n = pairs.size;
      for (const [a, b] of [...pairs]) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      return n;
    },
    accepted: () => accepted,
    setTarget(url) {
      target = new URL(url);
    },
    async close() {
      proxy.dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  onTestFinished(() => proxy.close());
  return proxy;
}
