// The delivery ledger: the one place that decides what is owed. Pure: no sockets, no timers, no clock;
// every call carries its own time (ms, any clock that compares across the run's threads). A shard feeds
// it the record of its connections (presence, receipts) and of the run's events (fired, answered), and
// takes one summary at the end; summaries of shards (threads, later machines) merge exactly with
// mergeLedgerSummaries, in an order that does not depend on which shard finished first.
//
// The rules, each with a unit test in test/loadtest/ledger.test.ts and together checked against a
// brute-force oracle in test/loadtest/ledger.property.test.ts:
//  R1 owed: an event answered ok (2xx) is owed to every connection of its audience (all, or the target
//     user for a notification) that was established strictly before the event was registered and was
//     not away (a gap, its ends included) at any moment between the event's registration and its answer.
//  R2 not owed: an event answered with an error, or never answered, is owed to nobody (the REST check
//     counts it); its receipts are not deliveries and never make up for a missing one.
//  R3 misrouted: every receipt of a notification at a connection of another user, whatever the answer.
//  R4 delivered / late / missing: an owed pair is delivered by a first receipt before the drain ended,
//     late by one after it, missing without one. Duplicated: receipts beyond the first at an owed pair.
//  R5 gaps: a connection lost without resume is away from its loss until it is back (a reconnect owes it
//     again what is fired from then on); one that gives up is away from its loss for good; a resume the
//     server refuses makes the time between the loss and the refusal a gap. Each gap is one drop.
//  R6 a connection whose attempt failed (connect error, connect deadline) and that connects later
//     anyway is not counted twice: it stays failed and is owed nothing.
//  R7 out of order: a receipt whose seq is lower than one already seen on the same connection.
//  R8 live figures (for the drain): per event never more delivered than expected.
//  R9 lost in a gap: an event answered ok, of a connection's audience, registered after the connection
//     was established, that the connection is not owed only because a gap (R5) covers it, and that it
//     never received: lost while reconnecting. Counted per event and per connection, apart from missing.
//  R10 log order (option `eligibility: 'seq'`, for a server with seq whose connections all opened before
//     any event of the run was fired, as in a sharded run): the final figures compare no times. Every
//     established connection is of the audience. A receipt places nothing but its seq in the connection's
//     log order; consecutive receipts at one connection say which seq comes first, and these links, over
//     all the ledger's connections, are the only order known. Each gap (R5) of a connection is bounded by
//     L, its last receipt before the loss (none: before the run), and F, its first receipt after it came
//     back (none: it never did, or gave up). An event of the audience is away for the connection (not
//     owed; lost in a gap, R9, if not received) when it was not received there and it is not known to come
//     at or before L, nor at or after F, by a chain of links: an event no connection of the ledger
//     received, or one no chain orders against the gap, is not owed. A received event is owed. The live
//     figures (R8) keep the times of R1.
import { compareSeq } from './seq-order.ts';

export const T_BUG_REPORT = 0;
export const T_COMMENT = 1;
export const T_NOTIFICATION = 2;
export const LEDGER_TYPES = ['bug_report', 'comment', 'notification'] as const;

/** Per-event ints of a summary: expected, delivered, missing, duplicated, misrouted, late. */
export const PER_EVENT_FIELDS = 7;
export const F_EXPECTED = 0;
export const F_DELIVERED = 1;
export const F_MISSING = 2;
export const F_DUPLICATED = 3;
export const F_MISROUTED = 4;
export const F_LATE = 5;
/** R9: (event, connection) pairs lost while the connection was away without resume. */
export const F_LOST_IN_GAP = 6;

export type OffenceKind = 'missing' | 'misrouted' | 'duplicated' | 'outOfOrder' | 'late' | 'lostInGap';
/** The order offenders are listed in: the worst first. */
export const OFFENCE_ORDER: readonly OffenceKind[] = ['missing', 'misrouted', 'duplicated', 'outOfOrder', 'late', 'lostInGap'];
/** Connections listed with their gap losses (the first by ordinal). */
export const GAP_LOSS_CONNS = 20;

/** A connection's events lost while it was away without resume (R9). */
export interface GapLossConn {
  ordinal: number;
  label: string;
  count: number;
}
/** Offending events kept per kind (the report shows the first 20 in all). */
export const OFFENDERS_PER_KIND = 20;
/** Connections named per offender. */
export const CONNS_PER_OFFENDER = 5;

export interface LedgerConn {
  /** Report label, e.g. `u12#1`. */
  label: string;
  userId: string;
  /** Position among all connections of the run (across shards): orders offenders' connections. */
  ordinal: number;
}

export interface LedgerOffender {
  /** Event index (firing order). */
  idx: number;
  kind: OffenceKind;
  /** Connections showing the offence for this event (all of them, not only those named). */
  count: number;
  /** The first CONNS_PER_OFFENDER connections by ordinal. */
  conns: { ordinal: number; label: string }[];
}

export interface LedgerSummary {
  /** Events the summary covers (the highest index seen + 1). */
  events: number;
  /** PER_EVENT_FIELDS ints per event, by event index. */
  perEvent: Int32Array;
  /** Per event: earliest and latest on-time first receipt at an owed connection (0 = none). */
  firstMin: Float64Array;
  firstMax: Float64Array;
  /** Per type: receipts out of seq order, receipts matching no event. */
  outOfOrder: number[];
  unmatched: number[];
  /** By OFFENCE_ORDER, then event index; connections by ordinal. At most OFFENDERS_PER_KIND per kind. */
  offenders: LedgerOffender[];
  opened: number;
  connectErrors: number;
  reconnects: number;
  dropped: number;
  /** R9: connections that lost at least one event in a gap, and the first GAP_LOSS_CONNS of them by ordinal. */
  gapLossConnCount: number;
  gapLossConns: GapLossConn[];
}

export interface LedgerLive {
  expected: number;
  delivered: number;
  duplicated: number;
  misrouted: number;
}

interface Ev {
  type: number;
  target: string | null;
  registeredAt: number;
  /** 0 unanswered, 1 ok, 2 error. */
  answer: number;
  respondedAt: number;
  /** Receipts per connection, saturating at 255. */
  counts: Uint8Array;
  /** Per connection: 1 first receipt after the drain, 2 out of order, 3 both. */
  flags: Uint8Array | undefined;
  firstMin: number;
  firstMax: number;
  expectedLive: number;
  deliveredLive: number;
  /** R10: its seq's node (-1: not received at any connection of the ledger yet). */
  node: number;
}

const FLAG_LATE = 1;
const FLAG_OOO = 2;

export interface LedgerOptions {
  /**
   * A gap recorded at time t takes events off the live expected count only back to t - gapScanMs
   * (older ones were answered before it: the REST client gives up after 30 s). @default 60_000
   */
  gapScanMs?: number;
  /** 'time' (R1, the default) or 'seq' (R10: the final figures from log order, no times compared). */
  eligibility?: 'time' | 'seq';
}

/** R10: a gap in log order: the last seq received before the loss, the first after coming back. */
interface SeqGap {
  last: string | undefined;
  first: string | undefined;
}

/** Receipt outcome codes: what `receipt` returns when it is not a delivery (a delivery returns its latency, >= 0). */
export const NOT_A_DELIVERY = -1;

export class Ledger {
  readonly n: number;
  private readonly conns: readonly LedgerConn[];
  private readonly gapScanMs: number;
  private readonly establishedAt: Float64Array;
  private readonly failedAt: Float64Array;
  /** Per connection: [from, to, from, to...]; to 0 = still away. */
  private readonly gaps: (number[] | undefined)[];
  private readonly lostAt: Float64Array;
  private readonly lastLostAt: Float64Array;
  private readonly lastSeq: (string | undefined)[];
  private readonly events: (Ev | undefined)[] = [];
  private readonly sentAt: number[] = [];
  private readonly oooByType = [0, 0, 0];
  private readonly unmatchedByType = [0, 0, 0];
  private drainEndedAt = 0;
  private opened = 0;
  private connectErrors = 0;
  private reconnects = 0;
  private dropped = 0;
  private liveDuplicated = 0;
  private liveMisrouted = 0;
  // ---- R10 (eligibility 'seq') ----
  private readonly bySeq: boolean;
  /** Per connection: the seq of its last receipt, in arrival order. */
  private readonly prevSeq: (string | undefined)[];
  /** Per connection: its gaps in log order; the one still waiting for its first receipt after it. */
  private readonly seqGaps: (SeqGap[] | undefined)[];
  private readonly seqWaiting: (SeqGap | undefined)[];
  /** Seqs as nodes; links between consecutive receipts of a connection, deduplicated. */
  private readonly seqNode = new Map<string, number>();
  private readonly links = new Set<number>();
  private readonly succ: number[][] = [];
  private readonly pred: number[][] = [];
  private lastLinkFrom = -1;
  private lastLinkTo = -1;

  constructor(conns: readonly LedgerConn[], options: LedgerOptions = {}) {
    this.conns = conns;
    this.n = conns.length;
    this.gapScanMs = options.gapScanMs ?? 60_000;
    this.establishedAt = new Float64Array(this.n);
    this.failedAt = new Float64Array(this.n);
    this.gaps = new Array<number[] | undefined>(this.n);
    this.lostAt = new Float64Array(this.n);
    this.lastLostAt = new Float64Array(this.n);
    this.lastSeq = new Array<string | undefined>(this.n);
    this.bySeq = options.eligibility === 'seq';
    this.prevSeq = new Array<string | undefined>(this.bySeq ? this.n : 0);
    this.seqGaps = new Array<SeqGap[] | undefined>(this.bySeq ? this.n : 0);
    this.seqWaiting = new Array<SeqGap | undefined>(this.bySeq ? this.n : 0);
  }

  // ---- events ----------------------------------------------------------------------------------

  /** An event about to be caused by a REST operation (registered before the request leaves). */
  fire(idx: number, type: number, target: string | null, sentAt: number, registeredAt: number): void {
    this.events[idx] = {
      type,
      target,
      registeredAt,
      answer: 0,
      respondedAt: 0,
      counts: new Uint8Array(this.n),
      flags: undefined,
      firstMin: 0,
      firstMax: 0,
      expectedLive: 0,
      deliveredLive: 0,
      node: -1,
    };
    this.sentAt[idx] = sentAt;
  }

  /** The operation's answer: ok (2xx) or an error (non-2xx, refused, timed out). No call: never answered. */
  answer(idx: number, ok: boolean, respondedAt: number): void {
    const ev = this.events[idx];
    if (!ev || ev.answer !== 0) return;
    ev.answer = ok ? 1 : 2;
    ev.respondedAt = respondedAt;
    if (!ok) return;
    let expected = 0;
    for (let c = 0; c < this.n; c++) if (this.owes(ev, c)) expected++;
    ev.expectedLive = expected;
  }

  /** The drain ended: first receipts after `at` are late. */
  drainEnd(at: number): void {
    this.drainEndedAt = at;
  }

  // ---- presence --------------------------------------------------------------------------------

  /** connection_established: the first one opens the connection; a later one ends a reconnect. */
  connected(c: number, at: number): void {
    if (this.establishedAt[c] === 0) {
      // R6: given up before it answered; it does not come back as a second connection
      if (this.failedAt[c] !== 0) return;
      this.establishedAt[c] = at;
      this.opened++;
      return;
    }
    this.reconnects++;
    this.lastLostAt[c] = this.lostAt[c]!;
    this.lostAt[c] = 0;
    // back after a gap without resume: owed again what is fired from now on
    const g = this.gaps[c];
    if (g !== undefined && g[g.length - 1] === 0) g[g.length - 1] = at;
  }

  /** The attempt failed before connection_established (error or connect deadline). False if it already settled. */
  failed(c: number, at: number): boolean {
    if (this.failedAt[c] !== 0 || this.establishedAt[c] !== 0) return false;
    this.failedAt[c] = at;
    this.connectErrors++;
    return true;
  }

  /** An established connection was lost. `resumable`: it will ask for the gap (resume supported). */
  lost(c: number, at: number, resumable: boolean): void {
    if (this.establishedAt[c] === 0) return;
    if (this.lostAt[c] === 0) this.lostAt[c] = at;
    if (!resumable) this.openGap(c, at);
  }

  /** The server refused the resume (Resume window exceeded) after the connection came back. */
  resumeRefused(c: number, at: number): void {
    if (this.establishedAt[c] === 0 || this.lastLostAt[c] === 0) return;
    this.addGap(c, this.lastLostAt[c]!, at);
    this.lastLostAt[c] = 0;
    this.dropped++;
  }

  /** The connection stopped reconnecting (closed for good). */
  gaveUp(c: number, at: number): void {
    if (this.establishedAt[c] === 0) return;
    this.openGap(c, at);
  }

  private openGap(c: number, at: number): void {
    const g = this.gaps[c];
    if (g !== undefined && g[g.length - 1] === 0) return;
    // a connection that gave up reconnecting was away since it was lost, not since it gave up
    this.addGap(c, this.lostAt[c] || at, 0);
    this.dropped++;
  }

  /** Records a gap and takes the answered events it covers off their live expected count. */
  private addGap(c: number, from: number, to: number): void {
    // R10: the gap lies between the last receipt so far (nothing is received while away) and the next
    // one; gaps with no receipt between them are one
    if (this.bySeq && this.seqWaiting[c] === undefined) {
      const sg: SeqGap = { last: this.prevSeq[c], first: undefined };
      (this.seqGaps[c] ??= []).push(sg);
      this.seqWaiting[c] = sg;
    }
    const covered: number[] = [];
    const scanFrom = from - this.gapScanMs;
    for (let i = this.events.length - 1; i >= 0; i--) {
      const ev = this.events[i];
      if (!ev) continue;
      if (ev.registeredAt < scanFrom) break;
      if (ev.answer === 1 && this.owes(ev, c)) covered.push(i);
    }
    const g = this.gaps[c];
    if (g === undefined) this.gaps[c] = [from, to];
    // the open gap, if any, stays last (reconnects and gives-up look there): a closed one goes before it
    else if (to !== 0 && g[g.length - 1] === 0) g.splice(g.length - 2, 0, from, to);
    else g.push(from, to);
    for (const k of covered) {
      const ev = this.events[k]!;
      if (!this.owes(ev, c)) ev.expectedLive--;
    }
  }

  // ---- receipts --------------------------------------------------------------------------------

  /**
   * The seq of a receipt at connection c (before or without knowing its event: idx -1). R7. Call once
   * per receipt, before `receipt`.
   */
  order(c: number, type: number, seq: string, idx: number): void {
    const last = this.lastSeq[c];
    if (last !== undefined && compareSeq(seq, last) < 0) {
      this.oooByType[type]!++;
      const ev = idx >= 0 ? this.events[idx] : undefined;
      if (ev) this.flag(ev, c, FLAG_OOO);
      // R10: a seq out of order (or a repeat after a replay) places its event but links nothing
      if (this.bySeq) this.link(c, seq, idx, false);
      return;
    }
    this.lastSeq[c] = seq;
    if (this.bySeq) this.link(c, seq, idx, true);
  }

  /** R10: the event's place in the log is the seq it was first received with. */
  private placeEvent(idx: number, node: number): void {
    const ev = this.events[idx];
    if (ev !== undefined && ev.node < 0) ev.node = node;
  }

  /** R10: the receipt of `seq` at c follows c's previous one in the log. */
  private link(c: number, seq: string, idx: number, inOrder: boolean): void {
    let to = this.seqNode.get(seq);
    if (to === undefined) {
      to = this.seqNode.size;
      this.seqNode.set(seq, to);
      this.succ.push([]);
      this.pred.push([]);
    }
    if (idx >= 0) this.placeEvent(idx, to);
    if (!inOrder) return;
    // the first receipt after a gap ends it, even the last one before it again
    const waiting = this.seqWaiting[c];
    if (waiting !== undefined) {
      waiting.first = seq;
      this.seqWaiting[c] = undefined;
    }
    const prev = this.prevSeq[c];
    if (prev === seq) return; // the same event again: a duplicate, no link
    this.prevSeq[c] = seq;
    if (prev === undefined) return;
    const from = this.seqNode.get(prev)!;
    // a broadcast: every connection links the same two seqs in a row
    if (from === this.lastLinkFrom && to === this.lastLinkTo) return;
    this.lastLinkFrom = from;
    this.lastLinkTo = to;
    const key = from * 4_294_967_296 + to;
    if (this.links.has(key)) return;
    this.links.add(key);
    this.succ[from]!.push(to);
    this.pred[to]!.push(from);
  }

  /** A receipt matching no fired event. */
  unmatched(type: number): void {
    this.unmatchedByType[type]!++;
  }

  /**
   * Event idx received at connection c at `at`. Returns the push latency (at - sentAt, >= 0) when it
   * is an on-time first receipt at a connection owed it as far as known now, else NOT_A_DELIVERY.
   * `seq`: the receipt's, when `order` was called without knowing the event (R10 learns it here).
   */
  receipt(idx: number, c: number, at: number, seq?: string): number {
    const ev = this.events[idx];
    if (!ev) return NOT_A_DELIVERY;
    if (this.bySeq && seq !== undefined) {
      const node = this.seqNode.get(seq);
      if (node !== undefined) this.placeEvent(idx, node);
    }
    const n = ev.counts[c]!;
    ev.counts[c] = n === 255 ? 255 : n + 1;
    const wrongUser = ev.type === T_NOTIFICATION && this.conns[c]!.userId !== ev.target;
    if (wrongUser) {
      this.liveMisrouted++;
      return NOT_A_DELIVERY;
    }
    // a first receipt after the drain is late wherever it is owed (with R10, whatever the times)
    if (n === 0 && this.drainEndedAt !== 0 && at > this.drainEndedAt) {
      this.flag(ev, c, FLAG_LATE);
      return NOT_A_DELIVERY;
    }
    const est = this.establishedAt[c]!;
    if (est === 0 || est >= ev.registeredAt) return NOT_A_DELIVERY;
    if (n > 0) {
      this.liveDuplicated++;
      return NOT_A_DELIVERY;
    }
    ev.deliveredLive++;
    if (ev.firstMin === 0 || at < ev.firstMin) ev.firstMin = at;
    if (at > ev.firstMax) ev.firstMax = at;
    return Math.max(0, at - this.sentAt[idx]!);
  }

  private flag(ev: Ev, c: number, f: number): void {
    ev.flags ??= new Uint8Array(this.n);
    ev.flags[c] = ev.flags[c]! | f;
  }

  /** R1: does connection c owe event ev (its answer known)? */
  private owes(ev: Ev, c: number): boolean {
    return this.inAudience(ev, c) && !this.away(ev, c);
  }

  /** Established strictly before the event was registered, and of its audience. */
  private inAudience(ev: Ev, c: number): boolean {
    const est = this.establishedAt[c]!;
    if (est === 0 || est >= ev.registeredAt) return false;
    return !(ev.type === T_NOTIFICATION && this.conns[c]!.userId !== ev.target);
  }

  /** Away (a gap, its ends included) at some moment between the event's registration and its answer. */
  private away(ev: Ev, c: number): boolean {
    // a gap's end included: what is decided at the answer cannot change later (R8)
    const g = this.gaps[c];
    if (g !== undefined) {
      for (let i = 0; i < g.length; i += 2) {
        const back = g[i + 1]!;
        if (g[i]! < ev.respondedAt && (back === 0 || back >= ev.registeredAt)) return true;
      }
    }
    return false;
  }

  /** Of the audience in the final figures: R1's times, or with R10 any established connection. */
  private inFinalAudience(ev: Ev, c: number): boolean {
    if (!this.bySeq) return this.inAudience(ev, c);
    if (this.establishedAt[c] === 0) return false;
    return !(ev.type === T_NOTIFICATION && this.conns[c]!.userId !== ev.target);
  }

  /** Away in the final figures: R1's times, or R10's log order (`reach` caches what each gap bound reaches). */
  private awayFinal(ev: Ev, c: number, received: boolean, reach: SeqReach): boolean {
    if (!this.bySeq) return this.away(ev, c);
    if (received) return false;
    const gaps = this.seqGaps[c];
    if (gaps === undefined) return false;
    if (ev.node < 0) return true;
    for (const g of gaps) {
      const before = g.last !== undefined && reach.from(this.seqNode.get(g.last)!, false)[ev.node] === 1;
      const after = g.first !== undefined && reach.from(this.seqNode.get(g.first)!, true)[ev.node] === 1;
      if (!before && !after) return true;
    }
    return false;
  }

  // ---- figures ---------------------------------------------------------------------------------

  /** Live figures for the drain and the progress view. R8. */
  live(): LedgerLive {
    let expected = 0;
    let delivered = 0;
    for (const ev of this.events) {
      if (!ev || ev.answer !== 1) continue;
      expected += ev.expectedLive;
      delivered += Math.min(ev.deliveredLive, ev.expectedLive);
    }
    return { expected, delivered, duplicated: this.liveDuplicated, misrouted: this.liveMisrouted };
  }

  presence(): { opened: number; connectErrors: number; reconnects: number; dropped: number } {
    return { opened: this.opened, connectErrors: this.connectErrors, reconnects: this.reconnects, dropped: this.dropped };
  }

  /** The shard's final figures. */
  summary(): LedgerSummary {
    const nEv = this.events.length;
    const perEvent = new Int32Array(nEv * PER_EVENT_FIELDS);
    const firstMin = new Float64Array(nEv);
    const firstMax = new Float64Array(nEv);
    const byKind = new Map<OffenceKind, LedgerOffender[]>(OFFENCE_ORDER.map((k) => [k, []]));
    const note = (idx: number, kind: OffenceKind, c: number): void => {
      const list = byKind.get(kind)!;
      let last = list[list.length - 1];
      if (last === undefined || last.idx !== idx) {
        if (list.length >= OFFENDERS_PER_KIND) return;
        last = { idx, kind, count: 0, conns: [] };
        list.push(last);
      }
      last.count++;
      if (last.conns.length < CONNS_PER_OFFENDER) last.conns.push({ ordinal: this.conns[c]!.ordinal, label: this.conns[c]!.label });
    };
    const gapLoss = new Int32Array(this.n);
    const reach = new SeqReach(this.succ, this.pred);
    for (let i = 0; i < nEv; i++) {
      const ev = this.events[i];
      if (!ev) continue;
      const o = i * PER_EVENT_FIELDS;
      // connections in ordinal order, so each offender names the first ones
      for (let c = 0; c < this.n; c++) {
        const count = ev.counts[c]!;
        const flags = ev.flags?.[c] ?? 0;
        if (flags & FLAG_OOO) note(i, 'outOfOrder', c);
        if (ev.type === T_NOTIFICATION && this.conns[c]!.userId !== ev.target) {
          if (count > 0) {
            perEvent[o + F_MISROUTED]! += count;
            note(i, 'misrouted', c);
          }
          continue;
        }
        if (ev.answer !== 1 || !this.inFinalAudience(ev, c)) continue;
        if (this.awayFinal(ev, c, count > 0, reach)) {
          // R9: not owed, but lost unless it came anyway
          if (count === 0) {
            perEvent[o + F_LOST_IN_GAP]!++;
            note(i, 'lostInGap', c);
            gapLoss[c]!++;
          }
          continue;
        }
        perEvent[o + F_EXPECTED]!++;
        if (count === 0) {
          perEvent[o + F_MISSING]!++;
          note(i, 'missing', c);
          continue;
        }
        if (flags & FLAG_LATE) {
          perEvent[o + F_LATE]!++;
          note(i, 'late', c);
        } else perEvent[o + F_DELIVERED]!++;
        if (count > 1) {
          perEvent[o + F_DUPLICATED]! += count - 1;
          note(i, 'duplicated', c);
        }
      }
      firstMin[i] = ev.firstMin;
      firstMax[i] = ev.firstMax;
    }
    let gapLossConnCount = 0;
    const gapLossConns: GapLossConn[] = [];
    for (let c = 0; c < this.n; c++) {
      if (gapLoss[c] === 0) continue;
      gapLossConnCount++;
      gapLossConns.push({ ordinal: this.conns[c]!.ordinal, label: this.conns[c]!.label, count: gapLoss[c]! });
    }
    gapLossConns.sort((a, b) => a.ordinal - b.ordinal);
    gapLossConns.length = Math.min(gapLossConns.length, GAP_LOSS_CONNS);
    return {
      events: nEv,
      perEvent,
      firstMin,
      firstMax,
      outOfOrder: [...this.oooByType],
      unmatched: [...this.unmatchedByType],
      offenders: sortOffenders(OFFENCE_ORDER.flatMap((k) => byKind.get(k)!)),
      opened: this.opened,
      connectErrors: this.connectErrors,
      reconnects: this.reconnects,
      dropped: this.dropped,
      gapLossConnCount,
      gapLossConns,
    };
  }
}

/**
 * R10: which seqs a chain of links reaches from a gap's bound: backward from its last receipt (what
 * comes at or before it), forward from its first one after (at or after it). One search per bound.
 */
class SeqReach {
  private readonly succ: readonly number[][];
  private readonly pred: readonly number[][];
  private readonly done = new Map<number, Uint8Array>();

  constructor(succ: readonly number[][], pred: readonly number[][]) {
    this.succ = succ;
    this.pred = pred;
  }

  from(node: number, forward: boolean): Uint8Array {
    const key = forward ? -1 - node : node;
    let seen = this.done.get(key);
    if (seen !== undefined) return seen;
    const next = forward ? this.succ : this.pred;
    seen = new Uint8Array(next.length);
    seen[node] = 1;
    const stack = [node];
    while (stack.length > 0) {
      for (const m of next[stack.pop()!]!) {
        if (seen[m] === 0) {
          seen[m] = 1;
          stack.push(m);
        }
      }
    }
    this.done.set(key, seen);
    return seen;
  }
}

function sortOffenders(list: LedgerOffender[]): LedgerOffender[] {
  return list.sort((x, y) => OFFENCE_ORDER.indexOf(x.kind) - OFFENCE_ORDER.indexOf(y.kind) || x.idx - y.idx);
}

/** An empty summary (no events, no connections): the identity of mergeLedgerSummaries. */
export function emptyLedgerSummary(): LedgerSummary {
  return {
    events: 0,
    perEvent: new Int32Array(0),
    firstMin: new Float64Array(0),
    firstMax: new Float64Array(0),
    outOfOrder: [0, 0, 0],
    unmatched: [0, 0, 0],
    offenders: [],
    opened: 0,
    connectErrors: 0,
    reconnects: 0,
    dropped: 0,
    gapLossConnCount: 0,
    gapLossConns: [],
  };
}

/**
 * Merges summaries of disjoint sets of connections over the same events. Exact (the same as one
 * ledger over all the connections would give, given connection ordinals in the same order as the
 * connections) and independent of the order of `parts`.
 */
export function mergeLedgerSummaries(parts: readonly LedgerSummary[]): LedgerSummary {
  const events = parts.reduce((m, p) => Math.max(m, p.events), 0);
  const out = emptyLedgerSummary();
  out.events = events;
  out.perEvent = new Int32Array(events * PER_EVENT_FIELDS);
  out.firstMin = new Float64Array(events);
  out.firstMax = new Float64Array(events);
  const offenders = new Map<string, LedgerOffender>();
  for (const p of parts) {
    for (let k = 0; k < p.perEvent.length; k++) out.perEvent[k]! += p.perEvent[k]!;
    for (let i = 0; i < p.events; i++) {
      const lo = p.firstMin[i]!;
      if (lo > 0 && (out.firstMin[i] === 0 || lo < out.firstMin[i]!)) out.firstMin[i] = lo;
      if (p.firstMax[i]! > out.firstMax[i]!) out.firstMax[i] = p.firstMax[i]!;
    }
    for (let t = 0; t < 3; t++) {
      out.outOfOrder[t]! += p.outOfOrder[t] ?? 0;
      out.unmatched[t]! += p.unmatched[t] ?? 0;
    }
    out.opened += p.opened;
    out.connectErrors += p.connectErrors;
    out.reconnects += p.reconnects;
    out.dropped += p.dropped;
    out.gapLossConnCount += p.gapLossConnCount ?? 0;
    out.gapLossConns.push(...(p.gapLossConns ?? []));
    for (const off of p.offenders) {
      const key = `${off.kind}:${off.idx}`;
      const m = offenders.get(key);
      if (m) {
        m.count += off.count;
        m.conns.push(...off.conns);
      } else offenders.set(key, { idx: off.idx, kind: off.kind, count: off.count, conns: [...off.conns] });
    }
  }
  const kept: LedgerOffender[] = [];
  for (const kind of OFFENCE_ORDER) {
    const ofKind = [...offenders.values()].filter((o) => o.kind === kind).sort((x, y) => x.idx - y.idx);
    for (const o of ofKind.slice(0, OFFENDERS_PER_KIND)) {
      o.conns.sort((a, b) => a.ordinal - b.ordinal);
      o.conns.length = Math.min(o.conns.length, CONNS_PER_OFFENDER);
      kept.push(o);
    }
  }
  out.offenders = kept;
  out.gapLossConns.sort((a, b) => a.ordinal - b.ordinal);
  out.gapLossConns.length = Math.min(out.gapLossConns.length, GAP_LOSS_CONNS);
  return out;
}
