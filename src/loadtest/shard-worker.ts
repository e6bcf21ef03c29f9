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
  // test hook: BUGZAPP_TEST_CRASH_SHARD=<shard id> throws in that shard at the first fired event, the
  // way a bug in the shard would (an uncaught error ends the worker thread)
  const crashShard = process.env.BUGZAPP_TEST_CRASH_SHARD;
  const crash = crashShard !== undefined && Number(crashShard) === (workerData as ShardInit).shardId;
  port.on('message', (msg: ToShard) => {
    if (crash && msg.t === 'event') throw new Error('injected shard crash (BUGZAPP_TEST_CRASH_SHARD)');
    shard.handle(msg);
  });
}
