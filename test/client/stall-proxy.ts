// A loopback TCP proxy that can go silent: after stall(), the connections it carries forward nothing in
// either direction and never close (a half-open network: a NAT that forgot the flow, a peer that stopped
// answering). Connections opened after stall() are carried normally, so a client can reconnect.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { onTestFinished } from 'vitest';

export interface StallProxy {
  /** http://127.0.0.1:port */
  url: string;
  /** Connections carried so far. */
  connections(): number;
  /** Silence every connection open now (only WebSocket upgrades with `websocketsOnly`), for good. */
  stall(options?: { websocketsOnly?: boolean }): void;
}

export async function startStallProxy(targetPort: number): Promise<StallProxy> {
  const sockets = new Set<Socket>();
  let carried = 0;
  const live = new Set<{ stalled: boolean; websocket: boolean }>();
  const server = createServer((client) => {
    carried++;
    const flow = { stalled: false, websocket: false, first: true };
    live.add(flow);
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => {
      if (flow.first) {
        flow.first = false;
        flow.websocket = /^upgrade:\s*websocket/im.test(d.toString('latin1'));
      }
      if (!flow.stalled) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!flow.stalled) client.write(d);
    });
    // a stalled flow tells neither side that the other went away
    const end = (): void => {
      if (flow.stalled) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', () => undefined);
    upstream.on('close', end).on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => carried,
    stall: (options = {}) => {
      for (const flow of live) {
        if (options.websocketsOnly && !flow.websocket) continue;
        flow.stalled = true;
        live.delete(flow);
      }
    },
  };
}
