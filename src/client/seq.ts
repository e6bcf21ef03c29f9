// What the client may assume about `seq`: protocol.md calls it opaque, so the client compares seqs for
// equality only when deciding what to drop. Ordering is guessed only to tell where a resume replay
// ends (an informational count), never to drop an event.

/**
 * Order two seqs when their shape makes it evident: decimal integers, or `<prefix>-<n>` with equal
 * prefixes or decimal prefixes (the reference server's `<epoch>-<n>`, Redis stream ids `<ms>-<n>`).
 * Undefined when it cannot tell.
 */
export function guessSeqOrder(a: string, b: string): number | undefined {
  if (a === b) return 0;
  const ia = a.lastIndexOf('-');
  const ib = b.lastIndexOf('-');
  if (ia < 0 && ib < 0) return isDecimal(a) && isDecimal(b) ? compareDecimal(a, b) : undefined;
  if (ia < 0 || ib < 0) return undefined;
  const sa = a.slice(ia + 1);
  const sb = b.slice(ib + 1);
  if (!isDecimal(sa) || !isDecimal(sb)) return undefined;
  const pa = a.slice(0, ia);
  const pb = b.slice(0, ib);
  if (pa === pb) return compareDecimal(sa, sb);
  if (isDecimal(pa) && isDecimal(pb)) return compareDecimal(pa, pb);
  return undefined;
}

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
