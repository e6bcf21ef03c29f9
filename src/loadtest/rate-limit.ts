// The rate-limit check of protocol.md section 5, on dedicated connections of dedicated users: a burst
// above the limit passes exactly `max` (pongs) and refuses the rest with "Rate limit exceeded"; the
// limit is per user across that user's connections; another user is unaffected; the connection stays
// open. With no limit known, the enforced one is measured and reported.
import { setTimeout as delay } from 'node:timers/promises';
import { openProbeClient, pingBurst, type BurstResult, type ProbeClient } from './probe-client.ts';
import type { RateLimitCheck } from './types.ts';

export interface RateLimitProbeOptions {
  url: string;
  /** Where the limited user's second connection goes (another instance, when there are several). */
  urlSecond?: string;
  secret: string;
  /** Two dedicated users: A gets two connections, B one. */
  userA: string;
  userB: string;
  /** The limit to check (the flag), else the advertised one; neither: measure. */
  given: { max: number; windowMs: number } | undefined;
  advertised: { max: number; windowMs: number } | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Longest window the check waits out to see the connection serve again after the burst. */
const MAX_WINDOW_WAIT_MS = 5000;
/** Bursts tried when one took longer than the window (it may have straddled two). */
const MAX_BURST_ATTEMPTS = 3;

export async function probeRateLimit(o: RateLimitProbeOptions): Promise<RateLimitCheck> {
  const checked = o.given ?? o.advertised;
  const details: RateLimitCheck['details'] = [];
  const result = (status: RateLimitCheck['status'], extra: Partial<RateLimitCheck> = {}): RateLimitCheck => ({
    status,
    ...(o.advertised ? { advertised: o.advertised } : {}),
    ...(checked ? { checked } : {}),
    ...extra,
    details,
  });
  const opened: ProbeClient[] = [];
  const open = async (userId: string, url = o.url): Promise<ProbeClient> => {
    const p = await openProbeClient({ url, secret: o.secret, userId, timeoutMs: o.timeoutMs });
    opened.push(p);
    return p;
  };
  try {
    const a1 = await open(o.userA);
    const a2 = await open(o.userA, o.urlSecond ?? o.url);
    const b1 = await open(o.userB);
    const answerMs = Math.min(o.timeoutMs, 5000);

    if (!checked) return await measure(a1, answerMs, details, result, o.signal);

    // enough above max that an unenforced limit shows, whatever max is
    const n = checked.max + Math.min(5000, Math.max(5, Math.ceil(checked.max / 2)));
    const k = 3;
    // Both connections of the user burst in the same tick, so every ping reaches the server within one
    // window however slowly it answers (a burst on the second connection sent after the answers of the
    // first could land in the next window and pass). The user together gets exactly `max`; a limiter
    // keyed by connection lets the second connection's pings through as well.
    const kb = Math.min(3, checked.max);
    let burst = await userBurst(a1, a2, b1, n, k, kb, answerMs);
    for (let attempt = 1; attempt < MAX_BURST_ATTEMPTS && !o.signal?.aborted; attempt++) {
      const { first, second, elapsedMs } = burst;
      const pongs = first.pongs + second.pongs;
      const good = pongs === checked.max && first.limited + second.limited === first.sent + second.sent - checked.max;
      // a burst whose answers took longer than the window may have straddled two windows: then (and
      // only when every ping was answered) wait the window out and burst again on a fresh one
      if (good || elapsedMs < checked.windowMs || first.unanswered + second.unanswered > 0) break;
      await delay(checked.windowMs + 50, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
      burst = await userBurst(a1, a2, b1, n, k, kb, answerMs);
    }
    const { first, second, other } = burst;
    const sent = first.sent + second.sent;
    const pongs = first.pongs + second.pongs;
    const refused = first.limited + second.limited;
    const otherErrors = first.otherErrors + second.otherErrors;
    const unanswered = first.unanswered + second.unanswered;
    details.push({
      name: 'exactly max per window',
      pass: pongs === checked.max && refused === sent - checked.max,
      detail:
        pongs === sent
          ? `no limit enforced: all ${sent} pings answered with pong (expected ${checked.max})`
          : `${pongs} of ${sent} pings passed, ${refused} refused with "Rate limit exceeded"` +
            `${otherErrors ? `, ${otherErrors} other errors` : ''}${unanswered ? `, ${unanswered} unanswered` : ''} (expected ${checked.max} to pass)`,
    });
    const measured = { max: pongs, windowMs: checked.windowMs };
    const limited = refused > 0;
    details.push({
      name: 'per user across connections',
      pass: limited && pongs <= checked.max,
      detail: `the same user's two connections in one window: ${first.pongs} + ${second.pongs} pings passed (expected ${checked.max} together)`,
    });

    details.push({
      name: 'other users unaffected',
      pass: other.pongs === other.sent && other.sent > 0,
      detail: `another user, in the same window: ${other.pongs} of ${other.sent} pings answered with pong (expected all)`,
    });

    let stillOpen = a1.client.isOpen && a2.client.isOpen;
    let openDetail = stillOpen ? 'both connections of the limited user are still open' : 'a limited connection was closed';
    if (stillOpen && limited && checked.windowMs <= MAX_WINDOW_WAIT_MS) {
      // after the window the same connection is served again
      await delay(checked.windowMs + 100, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
      const after = await pingBurst(a1, 1, answerMs);
      stillOpen = after.pongs === 1;
      openDetail = stillOpen
        ? 'the limited connection stayed open and is served again after the window'
        : `after the window the limited connection got ${after.pongs} pong(s) (expected 1)`;
    }
    details.push({ name: 'connection stays open', pass: stillOpen, detail: openDetail });
    return result(details.every((d) => d.pass) ? 'pass' : 'fail', { measured });
  } catch (err) {
    details.push({ name: 'probe', pass: false, detail: err instanceof Error ? err.message : String(err) });
    return result('fail');
  } finally {
    await Promise.all(opened.map((p) => p.close()));
  }
}

/**
 * Bursts sent in the same tick on both connections of the limited user and on the other user's (a
 * limiter shared by all users shows there); elapsed = first send to last answer.
 */
async function userBurst(
  a1: ProbeClient,
  a2: ProbeClient,
  b1: ProbeClient,
  n: number,
  k: number,
  kb: number,
  answerMs: number,
): Promise<{ first: BurstResult; second: BurstResult; other: BurstResult; elapsedMs: number }> {
  const start = performance.now();
  const [first, second, other] = await Promise.all([pingBurst(a1, n, answerMs), pingBurst(a2, k, answerMs), pingBurst(b1, kb, answerMs)]);
  return { first, second, other, elapsedMs: performance.now() - start };
}

/** Bursts of growing size until one is refused: a limit above the first burst is still found. */
const MEASURE_BURSTS = [200, 2000, 10_000];
/** Longest the window measurement polls for the limited user to be served again. */
const MEASURE_WINDOW_MAX_MS = 15_000;

/** No limit given or advertised: find the enforced one (max from bursts, window by polling). */
async function measure(
  a1: ProbeClient,
  answerMs: number,
  details: RateLimitCheck['details'],
  result: (status: RateLimitCheck['status'], extra?: Partial<RateLimitCheck>) => RateLimitCheck,
  signal: AbortSignal | undefined,
): Promise<RateLimitCheck> {
  const start = performance.now();
  let sent = 0;
  let pongs = 0;
  let last: BurstResult | undefined;
  for (const n of MEASURE_BURSTS) {
    last = await pingBurst(a1, n, answerMs);
    sent += last.sent;
    pongs += last.pongs;
    if (last.pongs < last.sent || signal?.aborted) break;
  }
  if (!last || last.limited === 0) {
    const what =
      pongs === sent
        ? `no limit enforced: all ${sent} pings answered with pong`
        : `no ping refused with "Rate limit exceeded": ${pongs} of ${sent} answered with pong` +
          `${last?.otherErrors ? `, ${last.otherErrors} other errors` : ''}${last?.unanswered ? `, ${last.unanswered} unanswered` : ''}`;
    details.push({ name: 'limit enforced', pass: false, detail: what });
    return result('fail');
  }
  // poll (refused pings may count against the window too, so not too often) until a pong comes back
  let windowMs: number | undefined;
  let gap = 10;
  while (performance.now() - start < MEASURE_WINDOW_MAX_MS && !signal?.aborted) {
    await delay(gap, undefined, signal ? { signal } : {}).catch(() => undefined);
    const one = await pingBurst(a1, 1, answerMs);
    if (one.pongs === 1) {
      windowMs = Math.round(performance.now() - start);
      break;
    }
    if (one.unanswered > 0) break;
    gap = Math.min(gap * 2, 250);
  }
  const measured = { max: pongs, windowMs: windowMs ?? 0 };
  details.push({
    name: 'limit enforced',
    pass: true,
    detail: `measured: ${pongs} of ${sent} pings passed; served again after ~${windowMs ?? '?'} ms`,
  });
  return result('pass', { measured });
}
