// Ordering `seq`s for the out-of-order check. protocol.md calls seq opaque but ordered per deployment;
// the client's guess (decimal fields of the same shape) decides, and where it can't tell, nothing is
// reported: the check never raises a false alarm. It runs once per receipt, so the common case (same
// length, same prefix, last field decimal: `<epoch>-<n>`, `<epoch>:<ms>-<n>`) is decided without
// allocating; everything else goes to the client's field-wise guess.
import { guessSeqOrder } from '../client/seq.ts';

/** Negative when a comes before b; 0 when equal or when the order can't be told. */
export function compareSeq(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length;
  if (n === b.length) {
    // start of the trailing decimal field of a
    let k = n;
    while (k > 0 && isDigit(a.charCodeAt(k - 1))) k--;
    if (k < n && (k === 0 || !isDigit(a.charCodeAt(k - 1)))) {
      let same = true;
      for (let i = 0; i < k; i++) {
        if (a.charCodeAt(i) !== b.charCodeAt(i)) {
          same = false;
          break;
        }
      }
      let digits = same;
      for (let i = k; digits && i < n; i++) digits = isDigit(b.charCodeAt(i));
      // equal prefix, equal-length decimal tails: string order is numeric order
      if (digits) return a < b ? -1 : 1;
    }
  }
  return guessSeqOrder(a, b) ?? 0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
