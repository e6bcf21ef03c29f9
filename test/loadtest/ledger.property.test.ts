// The ledger against a brute-force oracle: random records (fire, answer ok / error / never, connect,
// fail, lose with or without resume, reconnect, resume refused, give up, receipts anywhere, duplicates,
// late ones after the drain, seqs in any order, events lost in gaps), thousands of them, shrunk on failure. The oracle
// is written from the rules (ledger.ts R1..R9) and works differently: it keeps the whole record and
// judges each (event, connection) pair at the end from intervals, where the ledger keeps counters.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  F_DELIVERED,
  F_DUPLICATED,
  F_EXPECTED,
  F_LATE,
  F_LOST_IN_GAP,
  F_MISROUTED,
  F_MISSING,
  Ledger,
  PER_EVENT_FIELDS,
  T_BUG_REPORT,
  T_COMMENT,
  T_NOTIFICATION,
  mergeLedgerSummaries,
  type LedgerConn,
} from '../../src/loadtest/ledger.ts';

type Op =
  | { k: 'fire'; e: number; type: number; target: number }
  | { k: 'answer'; e: number; ok: boolean }
  | { k: 'connected'; c: number }
  | { k: 'failed'; c: number }
  | { k: 'lost'; c: number; resumable: boolean }
  | { k: 'refused'; c: number }
  | { k: 'gaveUp'; c: number }
  | { k: 'receipt'; e: number; c: number; seq: number }
  | { k: 'drainEnd' };
type GenOp =
  | Op
  | { k: 'dup'; e: number; c: number; seq: number }
  /** Lost with resume, an event answered meanwhile, then the resume refused or the reconnecting given up. */
  | { k: 'awayAcross'; e: number; c: number; end: 'refused' | 'gaveUp' };

interface Rec {
  users: number;
  conns: number;
  /** [op, time step (0 = same time as the previous op)]. */
  ops: [Op, number][];
}

const MAX_EV = 5;

function recArb(): fc.Arbitrary<Rec> {
  return fc.record({ users: fc.integer({ min: 1, max: 3 }), conns: fc.integer({ min: 1, max: 4 }) }).chain(({ users, conns }) => {
    const c = fc.integer({ min: 0, max: conns - 1 });
    const e = fc.integer({ min: 0, max: MAX_EV - 1 });
    const op: fc.Arbitrary<GenOp> = fc.oneof(
      { arbitrary: fc.record({ k: fc.constant('fire' as const), e, type: fc.constantFrom(T_BUG_REPORT, T_COMMENT, T_NOTIFICATION), target: fc.integer({ min: 0, max: users - 1 }) }), weight: 3 },
      { arbitrary: fc.record({ k: fc.constant('answer' as const), e, ok: fc.boolean() }), weight: 3 },
      { arbitrary: fc.record({ k: fc.constant('connected' as const), c }), weight: 3 },
      { arbitrary: fc.record({ k: fc.constant('failed' as const), c }), weight: 1 },
      { arbitrary: fc.record({ k: fc.constant('lost' as const), c, resumable: fc.boolean() }), weight: 3 },
      { arbitrary: fc.record({ k: fc.constant('refused' as const), c }), weight: 2 },
      { arbitrary: fc.record({ k: fc.constant('gaveUp' as const), c }), weight: 2 },
      { arbitrary: fc.record({ k: fc.constant('receipt' as const), e, c, seq: fc.integer({ min: 1, max: 30 }) }), weight: 6 },
      // a duplicate receipt: the same event twice at one connection
      { arbitrary: fc.record({ k: fc.constant('dup' as const), e, c, seq: fc.integer({ min: 1, max: 30 }) }), weight: 2 },
      { arbitrary: fc.constant({ k: 'drainEnd' as const }), weight: 2 },
      { arbitrary: fc.record({ k: fc.constant('awayAcross' as const), e, c, end: fc.constantFrom('refused' as const, 'gaveUp' as const) }), weight: 2 },
    );
    // most connections open first and most events are fired and answered early, so that the random
    // rest of the record lands on owed pairs; the rest is any interleaving
    const prefix = fc.tuple(
      fc.array(fc.boolean(), { minLength: conns, maxLength: conns }),
      fc.array(fc.tuple(fc.constantFrom(T_BUG_REPORT, T_COMMENT, T_NOTIFICATION), fc.integer({ min: 0, max: users - 1 }), fc.constantFrom('ok', 'ok', 'error', 'later', 'later')), {
        minLength: MAX_EV,
        maxLength: MAX_EV,
      }),
    );
    return fc.record({
      users: fc.constant(users),
      conns: fc.constant(conns),
      ops: fc.tuple(prefix, fc.array(fc.tuple(op, fc.integer({ min: 0, max: 1 })), { maxLength: 50 })).map(([[open, evs], rest]) => {
        const ops: [Op, number][] = [];
        open.forEach((up, c) => up && ops.push([{ k: 'connected', c }, 1]));
        evs.forEach(([type, target, answer], e) => {
          ops.push([{ k: 'fire', e, type, target }, 1]);
          if (answer !== 'later') ops.push([{ k: 'answer', e, ok: answer === 'ok' }, 0]);
        });
        for (const [o, dt] of rest) {
          if (o.k === 'dup') ops.push([{ k: 'receipt', e: o.e, c: o.c, seq: o.seq }, dt], [{ k: 'receipt', e: o.e, c: o.c, seq: o.seq }, 0]);
          else if (o.k === 'awayAcross') {
            ops.push([{ k: 'lost', c: o.c, resumable: true }, dt], [{ k: 'answer', e: o.e, ok: true }, 1]);
            if (o.end === 'refused') ops.push([{ k: 'connected', c: o.c }, 1], [{ k: 'refused', c: o.c }, dt]);
            else ops.push([{ k: 'gaveUp', c: o.c }, dt]);
          } else ops.push([o, dt]);
        }
        return ops;
      }),
    });
  });
}

function connsOf(r: Rec): LedgerConn[] {
  return Array.from({ length: r.conns }, (_, c) => ({ label: `c${c}`, userId: String(c % r.users), ordinal: c }));
}

const seqText = (n: number): string => String(n).padStart(4, '0');

/** Feeds the record to a ledger over the connections `which` (indices into the record's connections). */
function feed(r: Rec, which: number[], eligibility: 'time' | 'seq' = 'time'): Ledger {
  const all = connsOf(r);
  const local = new Map(which.map((c, i) => [c, i]));
  const l = new Ledger(which.map((c) => all[c]!), { eligibility });
  const fired = new Map<number, number>();
  let t = 1;
  for (const [index, [op, dt]] of r.ops.entries()) {
    t += dt;
    switch (op.k) {
      case 'fire':
        if (fired.has(op.e)) break;
        fired.set(op.e, op.type);
        l.fire(op.e, op.type, op.type === T_NOTIFICATION ? String(op.target) : null, t, t);
        break;
      case 'answer':
        l.answer(op.e, op.ok, t);
        break;
      case 'drainEnd':
        l.drainEnd(t);
        break;
      default: {
        const c = local.get(op.c);
        if (c === undefined) break;
        if (op.k === 'connected') l.connected(c, t);
        else if (op.k === 'failed') l.failed(c, t);
        else if (op.k === 'lost') l.lost(c, t, op.resumable);
        else if (op.k === 'refused') l.resumeRefused(c, t);
        else if (op.k === 'gaveUp') l.gaveUp(c, t);
        else {
          // receipts come only at connections that are up (established, not given up at the deadline)
          if (!isUp(r, op.c, index)) break;
          // the shard orders every receipt (matched or not), then records the matched ones
          const type = fired.get(op.e);
          // R10: some receipts are matched only later (ordered unknown, then recorded with their seq)
          const later = eligibility === 'seq' && index % 3 === 0;
          l.order(c, type ?? T_BUG_REPORT, seqText(op.seq), type === undefined || later ? -1 : op.e);
          if (type !== undefined) l.receipt(op.e, c, t, later ? seqText(op.seq) : undefined);
        }
      }
    }
  }
  return l;
}

interface OracleOut {
  perEvent: number[][];
  outOfOrder: number[];
  opened: number;
  connectErrors: number;
  reconnects: number;
  dropped: number;
  liveExpected: number;
  liveDelivered: number;
  /** R9: per connection, events lost in its gaps. */
  gapLoss: number[];
}

/** The rules, judged once over the whole record. */
function oracle(r: Rec): OracleOut {
  const users = connsOf(r).map((x) => x.userId);
  // timeline
  const times: number[] = [];
  let t = 1;
  for (const [, dt] of r.ops) times.push((t += dt));
  // events: first fire wins; first answer wins
  const ev = new Map<number, { type: number; target: string | null; reg: number; answer: 'ok' | 'error' | 'never'; resp: number }>();
  r.ops.forEach(([op], i) => {
    if (op.k === 'fire' && !ev.has(op.e)) ev.set(op.e, { type: op.type, target: op.type === T_NOTIFICATION ? String(op.target) : null, reg: times[i]!, answer: 'never', resp: 0 });
    if (op.k === 'answer') {
      const x = ev.get(op.e);
      if (x && x.answer === 'never') {
        x.answer = op.ok ? 'ok' : 'error';
        x.resp = times[i]!;
      }
    }
  });
  // presence per connection: established time, failed, away intervals [from, to) (to = Infinity: for good)
  const est: number[] = [];
  const away: [number, number][][] = [];
  let opened = 0;
  let connectErrors = 0;
  let reconnects = 0;
  for (let c = 0; c < r.conns; c++) {
    let e: number | undefined;
    let failed = false;
    let lostSince: number | undefined;
    let lostBefore: number | undefined;
    let openAway: number | undefined;
    const gaps: [number, number][] = [];
    r.ops.forEach(([op], i) => {
      if (!('c' in op) || op.c !== c || op.k === 'receipt') return;
      const now = times[i]!;
      if (op.k === 'failed') {
        if (e === undefined && !failed) {
          failed = true;
          connectErrors++;
        }
        return;
      }
      if (op.k === 'connected' && e === undefined) {
        if (!failed) {
          e = now;
          opened++;
        }
        return;
      }
      if (e === undefined) return;
      if (op.k === 'connected') {
        reconnects++;
        if (openAway !== undefined) {
          gaps.push([openAway, now]);
          openAway = undefined;
        }
        lostBefore = lostSince;
        lostSince = undefined;
      } else if (op.k === 'lost') {
        lostSince ??= now;
        if (!op.resumable && openAway === undefined) openAway = lostSince;
      } else if (op.k === 'gaveUp') {
        if (openAway === undefined) openAway = lostSince ?? now;
      } else if (op.k === 'refused') {
        if (lostBefore !== undefined && lostBefore !== 0) {
          gaps.push([lostBefore, now]);
          lostBefore = undefined;
        }
      }
    });
    if (openAway !== undefined) gaps.push([openAway, Infinity]);
    est.push(e ?? 0);
    away.push(gaps);
  }
  const dropped = away.reduce((s, g) => s + g.length, 0);
  const everEstBefore = (c: number, reg: number): boolean => est[c]! !== 0 && est[c]! < reg;
  const inGap = (e: number, c: number): boolean => {
    const x = ev.get(e)!;
    return away[c]!.some(([from, to]) => from < x.resp && to >= x.reg);
  };
  const owed = (e: number, c: number): boolean => {
    const x = ev.get(e)!;
    if (x.answer !== 'ok' || !everEstBefore(c, x.reg)) return false;
    if (x.type === T_NOTIFICATION && users[c] !== x.target) return false;
    return !inGap(e, c);
  };
  const gapLoss = new Array<number>(r.conns).fill(0);
  const perEvent: number[][] = [];
  let liveExpected = 0;
  let liveDelivered = 0;
  for (let e = 0; e < MAX_EV; e++) {
    const row = [0, 0, 0, 0, 0, 0, 0];
    perEvent.push(row);
    const x = ev.get(e);
    if (!x) continue;
    let owedN = 0;
    let onTimeEligible = 0;
    for (let c = 0; c < r.conns; c++) {
      // receipts of this event at c, after it was fired
      const rt: number[] = [];
      r.ops.forEach(([op], i) => {
        if (op.k === 'receipt' && op.e === e && op.c === c && isAfterFire(r, e, i) && isUp(r, c, i)) rt.push(times[i]!);
      });
      const wrongUser = x.type === T_NOTIFICATION && users[c] !== x.target;
      if (wrongUser) {
        row[F_MISROUTED]! += rt.length;
        continue;
      }
      // when the first receipt came, was the drain over?
      const firstIdx = firstReceiptIndex(r, e, c);
      const lateFirst = firstIdx >= 0 && drainEndedBefore(r, times, firstIdx);
      if (rt.length > 0 && everEstBefore(c, x.reg) && !lateFirst) onTimeEligible++;
      // R9: of the audience, established before, away in a gap, and never received
      if (x.answer === 'ok' && everEstBefore(c, x.reg) && inGap(e, c) && rt.length === 0) {
        row[F_LOST_IN_GAP]!++;
        gapLoss[c]!++;
      }
      if (!owed(e, c)) continue;
      owedN++;
      row[F_EXPECTED]!++;
      if (rt.length === 0) row[F_MISSING]!++;
      else {
        if (lateFirst) row[F_LATE]!++;
        else row[F_DELIVERED]!++;
        row[F_DUPLICATED]! += rt.length - 1;
      }
    }
    if (x.answer === 'ok') {
      liveExpected += owedN;
      liveDelivered += Math.min(onTimeEligible, owedN);
    }
  }
  // out of order: a seq lower than the highest seen before on the connection
  const outOfOrder = [0, 0, 0];
  for (let c = 0; c < r.conns; c++) {
    let max = -1;
    const firedType = new Map<number, number>();
    for (const [i, [op]] of r.ops.entries()) {
      if (op.k === 'fire' && !firedType.has(op.e)) firedType.set(op.e, op.type);
      if (op.k !== 'receipt' || op.c !== c || !isUp(r, c, i)) continue;
      if (op.seq < max) outOfOrder[firedType.get(op.e) ?? T_BUG_REPORT]!++;
      else max = op.seq;
    }
  }
  return { perEvent, outOfOrder, opened, connectErrors, reconnects, dropped, liveExpected, liveDelivered, gapLoss };
}

/** Receipt i of event e counts only once e was fired (the shard matches nothing before). */
function isAfterFire(r: Rec, e: number, i: number): boolean {
  for (let j = 0; j < i; j++) {
    const op = r.ops[j]![0];
    if (op.k === 'fire' && op.e === e) return true;
  }
  return false;
}

function firstReceiptIndex(r: Rec, e: number, c: number): number {
  return r.ops.findIndex(([op], i) => op.k === 'receipt' && op.e === e && op.c === c && isAfterFire(r, e, i) && isUp(r, c, i));
}

/** The last drainEnd before op i, and the receipt's time past it. */
function drainEndedBefore(r: Rec, times: number[], i: number): boolean {
  let d = 0;
  for (let j = 0; j < i; j++) if (r.ops[j]![0].k === 'drainEnd') d = times[j]!;
  return d !== 0 && times[i]! > d;
}

/** Connection c got connection_established before op i, and had not failed before that. */
function isUp(r: Rec, c: number, i: number): boolean {
  for (let j = 0; j < i; j++) {
    const op = r.ops[j]![0];
    if (!('c' in op) || op.c !== c) continue;
    if (op.k === 'failed') return false;
    if (op.k === 'connected') return true;
  }
  return false;
}

/** The ledger's per-event figures as the oracle lays them out: MAX_EV rows, zeros past the last event. */
function perEventRows(s: { events: number; perEvent: ArrayLike<number> }): number[][] {
  const got: number[][] = [];
  for (let e = 0; e < MAX_EV; e++) {
    const row = [0, 0, 0, 0, 0, 0, 0];
    for (let f = 0; f < PER_EVENT_FIELDS; f++) row[f] = e < s.events ? s.perEvent[e * PER_EVENT_FIELDS + f]! : 0;
    got.push(row);
  }
  return got;
}

function check(r: Rec): void {
  const o = oracle(r);
  const all = Array.from({ length: r.conns }, (_, c) => c);
  const l = feed(r, all);
  const s = l.summary();
  expect(perEventRows(s)).toEqual(o.perEvent);
  expect(s.outOfOrder).toEqual(o.outOfOrder);
  expect({ opened: s.opened, connectErrors: s.connectErrors, reconnects: s.reconnects, dropped: s.dropped }).toEqual({
    opened: o.opened,
    connectErrors: o.connectErrors,
    reconnects: o.reconnects,
    dropped: o.dropped,
  });
  const lossConns = o.gapLoss.flatMap((count, c) => (count > 0 ? [{ ordinal: c, label: `c${c}`, count }] : []));
  expect(s.gapLossConnCount).toBe(lossConns.length);
  expect(s.gapLossConns).toEqual(lossConns);
  const live = l.live();
  expect({ expected: live.expected, delivered: live.delivered }).toEqual({ expected: o.liveExpected, delivered: o.liveDelivered });
  // split over two shards (odd / even connections): the merge equals the whole
  const merged = mergeLedgerSummaries([feed(r, all.filter((c) => c % 2 === 1)).summary(), feed(r, all.filter((c) => c % 2 === 0)).summary()]);
  expect(merged).toEqual(s);
}

/**
 * R10 judged over the connections `which` from the whole record: links are pairs of consecutive receipts
 * of one connection, closed transitively (Floyd-Warshall); a gap lies between the receipts at a
 * connection on either side of an op that records one (the ops R5 counts as a drop).
 */
function oracleSeq(r: Rec, which: number[]): { perEvent: number[][]; gapLoss: number[] } {
  const users = connsOf(r).map((x) => x.userId);
  const inSet = new Set(which);
  // receipts the ledger orders: at a connection that is up; those out of order (R7) link nothing
  const allRecvs = (c: number): { i: number; seq: string; e: number; n: number }[] =>
    r.ops.flatMap(([op], i) => (op.k === 'receipt' && op.c === c && isUp(r, c, i) ? [{ i, seq: seqText(op.seq), e: op.e, n: op.seq }] : []));
  const recvs = (c: number): { i: number; seq: string; e: number }[] => {
    let max = -1;
    return allRecvs(c).filter((x) => {
      if (x.n < max) return false;
      max = x.n;
      return true;
    });
  };
  const seqs = [...new Set(which.flatMap((c) => allRecvs(c).map((x) => x.seq)))];
  const id = new Map(seqs.map((q, k) => [q, k]));
  const m = seqs.length;
  const reach = Array.from({ length: m }, (_, a) => Array.from({ length: m }, (_, b) => a === b));
  for (const c of which) {
    const list = recvs(c);
    for (let k = 1; k < list.length; k++) reach[id.get(list[k - 1]!.seq)!]![id.get(list[k]!.seq)!] = true;
  }
  for (let k = 0; k < m; k++) for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) if (reach[a]![k] && reach[k]![b]) reach[a]![b] = true;
  // events: first fire, first answer; the node: the seq of its first receipt once fired, at any connection
  const ev = new Map<number, { type: number; target: string | null; ok: boolean; answered: boolean; node: number }>();
  const firedAt = new Map<number, number>();
  r.ops.forEach(([op], i) => {
    if (op.k === 'fire' && !firedAt.has(op.e)) {
      firedAt.set(op.e, i);
      ev.set(op.e, { type: op.type, target: op.type === T_NOTIFICATION ? String(op.target) : null, ok: false, answered: false, node: -1 });
    }
  });
  // the first answer once fired wins (the ledger drops an answer to an event it does not know)
  r.ops.forEach(([op], i) => {
    if (op.k !== 'answer' || !firedAt.has(op.e) || i < firedAt.get(op.e)!) return;
    const x = ev.get(op.e)!;
    if (!x.answered) {
      x.answered = true;
      x.ok = op.ok;
    }
  });
  r.ops.forEach(([op], i) => {
    if (op.k !== 'receipt' || !inSet.has(op.c) || !isUp(r, op.c, i) || !isAfterFire(r, op.e, i)) return;
    const x = ev.get(op.e)!;
    if (x.node < 0) x.node = id.get(seqText(op.seq))!;
  });
  const perEvent: number[][] = [];
  const gapLoss = new Array<number>(r.conns).fill(0);
  for (let e = 0; e < MAX_EV; e++) perEvent.push([0, 0, 0, 0, 0, 0, 0]);
  for (const c of which) {
    // established (connected before any failure), and the ops that record a gap (as the R5 oracle does)
    let est = false;
    let failed = false;
    let lostSince = false;
    let lostBefore = false;
    let openAway = false;
    const gapOps: number[] = [];
    r.ops.forEach(([op], i) => {
      if (!('c' in op) || op.c !== c || op.k === 'receipt') return;
      if (op.k === 'failed') {
        if (!est) failed = true;
        return;
      }
      if (!est) {
        if (op.k === 'connected' && !failed) est = true;
        return;
      }
      if (op.k === 'connected') {
        openAway = false;
        lostBefore = lostSince;
        lostSince = false;
      } else if (op.k === 'lost') {
        lostSince = true;
        if (!op.resumable && !openAway) {
          openAway = true;
          gapOps.push(i);
        }
      } else if (op.k === 'gaveUp') {
        if (!openAway) {
          openAway = true;
          gapOps.push(i);
        }
      } else if (op.k === 'refused' && lostBefore) {
        lostBefore = false;
        gapOps.push(i);
      }
    });
    if (!est) continue;
    const list = recvs(c);
    const gaps = gapOps.map((gi) => {
      const before = list.filter((x) => x.i < gi);
      const after = list.find((x) => x.i > gi);
      return { last: before.length ? id.get(before[before.length - 1]!.seq)! : -1, first: after ? id.get(after.seq)! : -1 };
    });
    for (let e = 0; e < MAX_EV; e++) {
      const x = ev.get(e);
      if (!x) continue;
      const rt = r.ops.filter(([op], i) => op.k === 'receipt' && op.e === e && op.c === c && isAfterFire(r, e, i) && isUp(r, c, i)).length;
      const row = perEvent[e]!;
      if (x.type === T_NOTIFICATION && users[c] !== x.target) {
        row[F_MISROUTED]! += rt;
        continue;
      }
      if (!x.ok) continue;
      const away =
        rt === 0 && gaps.some((g) => x.node < 0 || !((g.last >= 0 && reach[x.node]![g.last]) || (g.first >= 0 && reach[g.first]![x.node])));
      if (away) {
        row[F_LOST_IN_GAP]!++;
        gapLoss[c]!++;
        continue;
      }
      row[F_EXPECTED]!++;
      if (rt === 0) row[F_MISSING]!++;
      else {
        const firstIdx = firstReceiptIndex(r, e, c);
        if (drainEndedBefore(r, timesOf(r), firstIdx)) row[F_LATE]!++;
        else row[F_DELIVERED]!++;
        row[F_DUPLICATED]! += rt - 1;
      }
    }
  }
  return { perEvent, gapLoss };
}

function timesOf(r: Rec): number[] {
  const times: number[] = [];
  let t = 1;
  for (const [, dt] of r.ops) times.push((t += dt));
  return times;
}

/** R10's records: one seq per event (the same at every connection), in a random log order. */
function recSeqArb(): fc.Arbitrary<Rec> {
  return fc.tuple(recArb(), fc.shuffledSubarray([0, 1, 2, 3, 4], { minLength: MAX_EV, maxLength: MAX_EV })).map(([r, perm]) => ({
    ...r,
    ops: r.ops.map(([op, dt]): [Op, number] => (op.k === 'receipt' ? [{ ...op, seq: 10 + perm[op.e]! }, dt] : [op, dt])),
  }));
}

const REPEAT_AFTER_REFUSAL: Rec = {
  users: 1,
  conns: 3,
  ops: [
    [{ k: 'connected', c: 0 }, 1],
    ...[0, 1, 2, 3, 4].flatMap((e): [Op, number][] => [
      [{ k: 'fire', e, type: T_BUG_REPORT, target: 0 }, 1],
      [{ k: 'answer', e, ok: true }, 0],
    ]),
    [{ k: 'connected', c: 1 }, 0],
    [{ k: 'receipt', e: 1, c: 1, seq: 13 }, 0],
    [{ k: 'lost', c: 1, resumable: true }, 0],
    [{ k: 'connected', c: 1 }, 1],
    [{ k: 'refused', c: 1 }, 0],
    [{ k: 'receipt', e: 1, c: 0, seq: 13 }, 0],
    [{ k: 'receipt', e: 4, c: 0, seq: 14 }, 0],
    [{ k: 'receipt', e: 1, c: 1, seq: 13 }, 0],
  ],
};

function checkSeq(r: Rec): void {
  const all = Array.from({ length: r.conns }, (_, c) => c);
  for (const which of [all, all.filter((c) => c % 2 === 1), all.filter((c) => c % 2 === 0)]) {
    const o = oracleSeq(r, which);
    const s = feed(r, which, 'seq').summary();
    expect(perEventRows(s)).toEqual(o.perEvent);
    const lossConns = o.gapLoss.flatMap((count, c) => (count > 0 ? [{ ordinal: c, label: `c${c}`, count }] : []));
    expect(s.gapLossConns).toEqual(lossConns);
  }
}

describe("ledger property, R10 (eligibility 'seq'): random records against a brute-force oracle of log order", () => {
  it('the records reach the rule: events owed across a gap by log order, and events lost in one', () => {
    let owedAcross = 0;
    let lost = 0;
    for (const r of fc.sample(recSeqArb(), { numRuns: 1000, seed: 7 })) {
      const all = Array.from({ length: r.conns }, (_, c) => c);
      const o = oracleSeq(r, all);
      if (o.perEvent.some((row) => row[F_LOST_IN_GAP]! > 0)) lost++;
      // a missing event at a connection with a gap: owed because a chain placed it outside the gap
      if (o.perEvent.some((row) => row[F_MISSING]! > 0) && o.gapLoss.some((n) => n > 0)) owedAcross++;
    }
    expect(lost).toBeGreaterThan(20);
    expect(owedAcross).toBeGreaterThan(5);
  });

  it('agrees with the oracle on every per-event figure, for the whole and for each half of the connections', () => {
    fc.assert(
      fc.property(recSeqArb(), (r) => {
        checkSeq(r);
      }),
      // found by this test once: the receipt that ends a refused resume's gap repeats the one before it
      { numRuns: 3000, interruptAfterTimeLimit: 4000, examples: [[REPEAT_AFTER_REFUSAL]] },
    );
  });
});

describe('ledger property: random records against a brute-force oracle', () => {
  it('the records reach every rule (the generator is not vacuous)', () => {
    const seen = { lostInGap: 0, delivered: 0, missing: 0, duplicated: 0, misrouted: 0, late: 0, outOfOrder: 0, dropped: 0, reconnects: 0, connectErrors: 0 };
    for (const r of fc.sample(recArb(), { numRuns: 1000, seed: 42 })) {
      const o = oracle(r);
      const sum = (f: number): number => o.perEvent.reduce((s, row) => s + row[f]!, 0);
      if (sum(F_DELIVERED)) seen.delivered++;
      if (sum(F_MISSING)) seen.missing++;
      if (sum(F_DUPLICATED)) seen.duplicated++;
      if (sum(F_MISROUTED)) seen.misrouted++;
      if (sum(F_LATE)) seen.late++;
      if (sum(F_LOST_IN_GAP)) seen.lostInGap++;
      if (o.outOfOrder.some((n) => n > 0)) seen.outOfOrder++;
      if (o.dropped) seen.dropped++;
      if (o.reconnects) seen.reconnects++;
      if (o.connectErrors) seen.connectErrors++;
    }
    for (const [rule, n] of Object.entries(seen)) expect(n, rule).toBeGreaterThan(5);
  });

  it('agrees with the oracle on every figure, and split over shards merges to the same summary', () => {
    fc.assert(
      fc.property(recArb(), (r) => {
        check(r);
      }),
      { numRuns: 3000, interruptAfterTimeLimit: 4000 },
    );
  });
});

/**
 * R10 against the truth: a log of events in one order, connections that are up, away for good (gave
 * up), away until a refused resume, or away until a resume that replays the gap, and a server that may
 * drop a delivery. Whatever the ledger cannot prove, it must never call missing an event a connection
 * truly missed in a gap (no false alarm), and a connection never away must be owed everything.
 */
interface Life {
  /** Position in the log where each away interval starts and ends (end: Infinity for good). */
  away: { from: number; to: number; kind: 'gaveUp' | 'refused' | 'resumed' }[];
}
interface TruthRec {
  users: number;
  events: { type: number; target: number }[];
  lives: Life[];
  /** Deliveries the server drops: `${event}:${conn}`. */
  dropped: string[];
}

function truthArb(): fc.Arbitrary<TruthRec> {
  return fc.record({ users: fc.integer({ min: 1, max: 3 }), conns: fc.integer({ min: 1, max: 4 }), m: fc.integer({ min: 1, max: 7 }) }).chain(({ users, conns, m }) => {
    const pos = fc.integer({ min: 0, max: m });
    const life: fc.Arbitrary<Life> = fc
      .array(fc.tuple(pos, fc.integer({ min: 1, max: 3 }), fc.constantFrom('gaveUp' as const, 'refused' as const, 'resumed' as const)), { maxLength: 2 })
      .map((xs) => {
        const away: Life['away'] = [];
        let at = 0;
        for (const [p, len, kind] of xs.sort((a, b) => a[0] - b[0])) {
          const from = Math.max(p, at);
          if (from >= m) break;
          if (kind === 'gaveUp') {
            away.push({ from, to: Infinity, kind });
            break;
          }
          const to = Math.min(m, from + len);
          away.push({ from, to, kind });
          at = to + 1;
        }
        return { away };
      });
    return fc.record({
      users: fc.constant(users),
      events: fc.array(fc.record({ type: fc.constantFrom(T_BUG_REPORT, T_COMMENT, T_NOTIFICATION), target: fc.integer({ min: 0, max: users - 1 }) }), { minLength: m, maxLength: m }),
      lives: fc.array(life, { minLength: conns, maxLength: conns }),
      dropped: fc.array(fc.tuple(fc.integer({ min: 0, max: m - 1 }), fc.integer({ min: 0, max: conns - 1 })).map(([e, c]) => `${e}:${c}`), { maxLength: 3 }),
    });
  });
}

function checkTruth(r: TruthRec): void {
  const n = r.lives.length;
  const conns: LedgerConn[] = Array.from({ length: n }, (_, c) => ({ label: `c${c}`, userId: String(c % r.users), ordinal: c }));
  const l = new Ledger(conns, { eligibility: 'seq' });
  const of = (e: number, c: number): boolean => r.events[e]!.type !== T_NOTIFICATION || String(r.events[e]!.target) === conns[c]!.userId;
  const awayAt = (c: number, p: number) => r.lives[c]!.away.find((a) => a.from <= p && p < a.to);
  const dropped = new Set(r.dropped);
  let t = 1;
  const deliver = (e: number, c: number): void => {
    if (!of(e, c) || dropped.has(`${e}:${c}`)) return;
    l.order(c, r.events[e]!.type, `s${e}`, e);
    l.receipt(e, c, t);
  };
  for (let c = 0; c < n; c++) l.connected(c, t);
  // one step past the last event: what comes back after it (a refusal ends its gap then)
  for (let p = 0; p <= r.events.length; p++) {
    t++;
    for (let c = 0; c < n; c++) {
      for (const a of r.lives[c]!.away) {
        if (a.from === p) {
          l.lost(c, t, true);
          if (a.kind === 'gaveUp') l.gaveUp(c, t);
        }
        if (a.to === p) {
          l.connected(c, t);
          if (a.kind === 'refused') l.resumeRefused(c, t);
          // a resume replays the gap in log order
          else for (let e = a.from; e < a.to; e++) deliver(e, c);
        }
      }
    }
    if (p === r.events.length) break;
    l.fire(p, r.events[p]!.type, r.events[p]!.type === T_NOTIFICATION ? String(r.events[p]!.target) : null, t, t);
    l.answer(p, true, t);
    for (let c = 0; c < n; c++) if (!awayAt(c, p)) deliver(p, c);
  }
  const s = l.summary();
  const missing = s.offenders.filter((o) => o.kind === 'missing');
  for (const o of missing) {
    for (const x of o.conns) {
      // no false alarm: never missing where the connection was truly away without a replay
      const a = awayAt(x.ordinal, o.idx);
      expect(a === undefined || a.kind === 'resumed', `event ${o.idx} at c${x.ordinal}`).toBe(true);
    }
  }
  // a connection never away (or only away with a replay) is owed every event of its audience
  for (let c = 0; c < n; c++) {
    if (r.lives[c]!.away.some((a) => a.kind !== 'resumed')) continue;
    for (let e = 0; e < r.events.length; e++) {
      if (!of(e, c) || !dropped.has(`${e}:${c}`)) continue;
      expect(missing.find((o) => o.idx === e)?.conns.some((x) => x.ordinal === c), `event ${e} missing at c${c}`).toBe(true);
    }
  }
}

describe('ledger property, R10 against the truth of a log', () => {
  it('never calls missing what a connection truly missed in a gap, and owes everything to a connection never away', () => {
    fc.assert(
      fc.property(truthArb(), (r) => {
        checkTruth(r);
      }),
      { numRuns: 2000, interruptAfterTimeLimit: 4000 },
    );
  });
});
