// Ordering `seq`s for the out-of-order check. protocol.md calls seq opaque but ordered per deployment;
// the shapes in use are decimal integers and `<prefix>-<n>` (the reference server's `<epoch>-<n>`,
// Redis stream ids `<ms>-<n>`). Erasable TypeScript only: shard workers load it with type stripping.

/** Negative when a comes before b, 0 when equal or when the order can't be told (never a false alarm). */
export function compareSeq(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a.lastIndexOf('-');
  const ib = b.lastIndexOf('-');
  if (ia < 0 && ib < 0) return isDecimal(a) && isDecimal(b) ? compareDecimal(a, b) : 0;
  if (ia < 0 || ib < 0) return 0;
  const sa = a.slice(ia + 1);
  const sb = b.slice(ib + 1);
  if (!isDecimal(sa) || !isDecimal(sb)) return 0;
  const pa = a.slice(0, ia);
  const pb = b.slice(0, ib);
  if (pa === pb) return compareDecimal(sa, sb);
  if (isDecimal(pa) && isDecimal(pb)) {
    const c = compareDecimal(pa, pb);
    return c !== 0 ? c : compareDecimal(sa, sb);
  }
  return 0;
}

function isDecimal(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch < 48 || ch > 57) return false;
  }
  return true;
}

function compareDecimal(a: string, b: string): number {
  let i = 0;
  while (i < a.length - 1 && a[i] === '0') i++;
  let j = 0;
  while (j < b.length - 1 && b[j] === '0') j++;
  const x = a.slice(i);
  const y = b.slice(j);
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}
