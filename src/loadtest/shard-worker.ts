// Worker-thread entry of a shard: the same Shard as in the main thread, talking over parentPort.
// Started by shard-host.ts: compiled from dist/, or through tsx from a clone.
import { parentPort, workerData } from 'node:worker_threads';
import { Shard } from './shard.ts';
import type { FromShard, ShardInit, ToShard } from './shard-protocol.ts';

const port = parentPort;
if (port) {
  const shard = new Shard(workerData as ShardInit, (msg: FromShard) => {
    port.postMessage(msg);
    if (msg.t === 'final') port.close();
  });
  port.on('message', (msg: ToShard) => shard.handle(msg));
}
