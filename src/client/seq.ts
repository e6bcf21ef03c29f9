// What the client may assume about `seq`: protocol.md calls it opaque, so the client compares seqs for
// equality only when deciding what to drop. Ordering is guessed only to tell where a resume replay
// ends (an informational count), never to drop an event.

/**
 * Order two seqs when their shape makes it evident: split at `-`, `:`, `.` or `_` into the same number of
 * fields, equal up to the first differing field, and that field decimal in both (the reference
 * server's `<epoch>-<n>`, the Redis engine's `<epoch>:<ms>-<n>`, plain integers). Undefined when it
 * cannot tell (e.g. two epochs).
 */
export function guessSeqOrder(a: string, b: string): number | undefined {
  if (a === b) return 0;
  const fa = a.split(SEPARATORS);
  const fb = b.split(SEPARATORS);
  if (fa.length !== fb.length) return undefined;
  for (let i = 0; i < fa.length; i++) {
    const x = fa[i]!;
    const y = fb[i]!;
    if (x === y) continue;
    return isDecimal(x) && isDecimal(y) ? compareDecimal(x, y) : undefined;
  }
  return undefined;
}

const SEPARATORS = /[-:._]/;

function isDecimal(s: string): boolean {
  return /^\d+$/.test(s);
}

function compareDecimal(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The last `size` seqs seen, as a ring of references to strings the parse already made (no copy).
 * Only after a reconnect is it turned into a Set, to drop replayed events the client already has.
 */
export class SeqRing {
  private readonly ring: (string | undefined)[] = [];
  private next = 0;

  constructor(readonly size: number) {}

  push(seq: string): void {
    if (this.size <= 0) return;
    if (this.ring.length < this.size) this.ring.push(seq);
    else this.ring[this.next] = seq;
    this.next = (this.next + 1) % this.size;
  }

  toSet(): Set<string> {
    const set = new Set<string>();
    for (const s of this.ring) if (s !== undefined) set.add(s);
    return set;
  }
}
