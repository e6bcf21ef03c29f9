// Ordering `seq`s for the out-of-order check. protocol.md calls seq opaque but ordered per deployment;
// the client's guess (decimal fields of the same shape) decides, and where it can't tell, nothing is
// reported: the check never raises a false alarm.
import { guessSeqOrder } from '../client/seq.ts';

/** Negative when a comes before b; 0 when equal or when the order can't be told. */
export function compareSeq(a: string, b: string): number {
  return guessSeqOrder(a, b) ?? 0;
}
