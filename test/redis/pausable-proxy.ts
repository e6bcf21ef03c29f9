// A loopback TCP proxy whose server-to-client direction can be held: a Redis connection through it
// sees its replies late, which makes "this instance's reader is behind" a state a test can set up.
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { onTestFinished } from 'vitest';

export interface PausableProxy {
  url: string;
  /** Hold replies (they are buffered, not lost). */
  hold(): void;
  /** Deliver the held replies and stop holding. */
  release(): void;
}

export async function startPausableProxy(targetPort: number): Promise<PausableProxy> {
  const sockets = new Set<Socket>();
  let holding = false;
  const held: { to: Socket; data: Buffer }[] = [];
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (holding) held.push({ to: client, data: d });
      else client.write(d);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const { to, data } of held.splice(0)) to.write(data);
    },
  };
}
