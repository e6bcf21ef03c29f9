// The `seq` of the Redis engine: `<epoch>:<stream id>`, e.g. `3fa94c1e:1764146400000-3`. The epoch is a
// random value stored beside the stream and replaced whenever the stream is (FLUSHALL, a Redis that
// restarted empty), so a `since` from a log that no longer exists is told apart from one that is merely
// old, and neither is ever answered with a silent gap.

const SEQ_RE = /^([0-9a-f]{8}):(0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,15})$/;
const ID_RE = /^(0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,15})$/;

export interface ParsedSeq {
  epoch: string;
  /** The stream id, `<ms>-<n>`. */
  id: string;
}

export function parseSeq(seq: string): ParsedSeq | undefined {
  const m = SEQ_RE.exec(seq);
  if (!m) return undefined;
  return { epoch: m[1]!, id: `${m[2]}-${m[3]}` };
}

export function formatSeq(epoch: string, id: string): string {
  return `${epoch}:${id}`;
}

export function isValidStreamId(id: string): boolean {
  return ID_RE.test(id);
}

/** Compare two stream ids (`<ms>-<n>`) numerically. */
export function compareStreamIds(a: string, b: string): number {
  const ia = a.indexOf('-');
  const ib = b.indexOf('-');
  const d = Number(a.slice(0, ia)) - Number(b.slice(0, ib));
  if (d !== 0) return d;
  return Number(a.slice(ia + 1)) - Number(b.slice(ib + 1));
}

/**
 * Seqs of one epoch compare by stream id. Seqs of different epochs are not comparable in time; they are
 * ordered by epoch text only so that the order is total and stable.
 */
export function compareSeqs(a: string, b: string): number {
  const ca = a.indexOf(':');
  const cb = b.indexOf(':');
  const ea = a.slice(0, ca);
  const eb = b.slice(0, cb);
  if (ea !== eb) return ea < eb ? -1 : 1;
  return compareStreamIds(a.slice(ca + 1), b.slice(cb + 1));
}
