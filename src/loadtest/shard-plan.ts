// The plan of a sharded run that needs no Redis: the options, K/N parsing and each shard's share. Kept
// apart from distributed.ts so that a one-process run (and the CLI's flag parsing) never loads ioredis.
export interface DistributedOptions {
  /** redis://host:port of the coordinating Redis. */
  coordinator: string;
  /** Names the run: every shard of one run gives the same id; two runs never share one. */
  runId: string;
  /** This shard, 1-based. */
  shard: number;
  shards: number;
  /** How long to wait for the other shards at each barrier and for their results. @default 300_000 */
  shardWaitMs?: number;
  /** How far a remote event's registration is back-dated on arrival. @default 1000 */
  marginMs?: number;
}

export const DEFAULT_SHARD_WAIT_MS = 300_000;
export const DEFAULT_MARGIN_MS = 1000;

/** Parses `K/N` or `auto/N` (K = JOB_COMPLETION_INDEX + 1). Returns an error text instead of throwing. */
export function parseShardSpec(text: string, env: Record<string, string | undefined>): { shard: number; shards: number } | { error: string } {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return { error: `expected K/N like 2/3 (or auto/N), got '${text}'` };
  const shards = Number(m[2]);
  if (!(shards >= 1 && shards <= 1000)) return { error: `N must be from 1 to 1000, got ${m[2]}` };
  let shard: number;
  if (m[1] === 'auto') {
    const idx = env.JOB_COMPLETION_INDEX;
    if (idx === undefined || !/^\d+$/.test(idx.trim())) return { error: 'auto/N takes K from JOB_COMPLETION_INDEX (+1), which is not set to an integer' };
    shard = Number(idx.trim()) + 1;
  } else shard = Number(m[1]);
  if (!(shard >= 1 && shard <= shards)) return { error: `K must be from 1 to ${shards}, got ${shard}` };
  return { shard, shards };
}

/** Operations of `total` that shard k (1-based) of n fires. */
export function shareOf(total: number, k: number, n: number): number {
  return Math.floor(total / n) + (k - 1 < total % n ? 1 : 0);
}

/** The global index of a shard's local event: interleaved, so every shard numbers from 0 at once. */
export function globalIdx(local: number, k: number, n: number): number {
  return local * n + (k - 1);
}
