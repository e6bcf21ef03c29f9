// The main thread's handle on a shard: in-process (workers: 0) or a worker thread. Both speak the
// messages of shard-protocol.ts, so runLoadTest does not care which.
import { Worker } from 'node:worker_threads';
import { ownModule } from '../own-module.ts';
import { Shard } from './shard.ts';
import type { FromShard, ShardInit, ToShard } from './shard-protocol.ts';

export interface ShardHost {
  readonly id: number;
  post(msg: ToShard): void;
  /** Ends the shard; resolves once its worker (if any) has exited. */
  terminate(): Promise<void>;
}

export function startShard(init: ShardInit, inWorker: boolean, onMessage: (msg: FromShard) => void): ShardHost {
  if (!inWorker) {
    const shard = new Shard(init, onMessage);
    return { id: init.shardId, post: (msg) => shard.handle(msg), terminate: async () => undefined };
  }
  // the compiled shard-worker.js from dist/, or the .ts source through tsx from a clone
  const entry = ownModule('loadtest/shard-worker.ts');
  const worker = new Worker(entry.url, {
    workerData: init,
    execArgv: entry.execArgv,
    env: process.env,
    stdout: false,
    stderr: false,
    // a young generation of 16 MB, not V8's default (which grows to 3 x 16 MB semi-spaces under a
    // shard's allocation rate): at 10,000 connections that was ~7 KB of RSS per connection, for no
    // throughput (the receive path allocates little per frame, so scavenges stay cheap)
    resourceLimits: { maxYoungGenerationSizeMb: 16 },
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => worker.once('exit', () => ((exited = true), resolve())));
  worker.on('message', (msg: FromShard) => onMessage(msg));
  worker.on('error', (err) => onMessage({ t: 'fatal', message: `shard ${init.shardId} crashed: ${err.message}`, ...(err.stack ? { stack: err.stack } : {}) }));
  worker.on('exit', (code) => {
    if (code !== 0) onMessage({ t: 'fatal', message: `shard ${init.shardId} exited with ${code}` });
  });
  return {
    id: init.shardId,
    post: (msg) => {
      if (!exited) worker.postMessage(msg);
    },
    terminate: async () => {
      if (exited) return;
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}
