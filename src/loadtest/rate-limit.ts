// The rate-limit check of protocol.md section 5, on dedicated connections of dedicated users: a burst
// above the limit passes exactly `max` (pongs) and refuses the rest with "Rate limit exceeded"; the
// limit is per user across that user's connections; another user is unaffected; the connection stays
// open. With no limit known, the enforced one is measured and reported.
import { setTimeout as delay } from 'node:timers/promises';
import { openProbeClient, pingBurst, type ProbeClient } from './probe-client.ts';
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
    const burst = await pingBurst(a1, n, answerMs);
    const exact = burst.pongs === checked.max && burst.limited === burst.sent - checked.max;
    details.push({
      name: 'exactly max per window',
      pass: exact,
      detail:
        burst.pongs === burst.sent
          ? `no limit enforced: all ${burst.sent} pings answered with pong (expected ${checked.max})`
          : `${burst.pongs} of ${burst.sent} pings passed, ${burst.limited} refused with "Rate limit exceeded"` +
            `${burst.otherErrors ? `, ${burst.otherErrors} other errors` : ''}${burst.unanswered ? `, ${burst.unanswered} unanswered` : ''} (expected ${checked.max} to pass)`,
    });
    const measured = { max: burst.pongs, windowMs: checked.windowMs };
    const limited = burst.limited > 0;

    // same user, second connection, same window: refused too
    const k = 3;
    const second = await pingBurst(a2, k, answerMs);
    details.push({
      name: 'per user across connections',
      pass: limited && second.limited === k,
      detail: `the same user's second connection, within the window: ${second.limited} of ${second.sent} refused (expected all)`,
    });

    const other = await pingBurst(b1, Math.min(3, checked.max), answerMs);
    details.push({
      name: 'other users unaffected',
      pass: other.pongs === other.sent && other.sent > 0,
      detail: `another user: ${other.pongs} of ${other.sent} pings answered with pong (expected all)`,
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

/** No limit given or advertised: find the enforced one (max from a burst, window by polling). */
async function measure(
  a1: ProbeClient,
  answerMs: number,
  details: RateLimitCheck['details'],
  result: (status: RateLimitCheck['status'], extra?: Partial<RateLimitCheck>) => RateLimitCheck,
  signal: AbortSignal | undefined,
): Promise<RateLimitCheck> {
  const n = 200;
  const start = performance.now();
  const burst = await pingBurst(a1, n, answerMs);
  if (burst.pongs >= burst.sent) {
    details.push({ name: 'limit enforced', pass: false, detail: `no limit enforced: all ${burst.sent} pings answered with pong` });
    return result('fail');
  }
  // poll with growing gaps (refused pings may count against the window too) until a pong comes back
  let windowMs: number | undefined;
  let gap = 50;
  while (gap <= 12_800 && !signal?.aborted) {
    await delay(gap, undefined, signal ? { signal } : {}).catch(() => undefined);
    const one = await pingBurst(a1, 1, answerMs);
    if (one.pongs === 1) {
      windowMs = Math.round(performance.now() - start);
      break;
    }
    gap *= 2;
  }
  const measured = { max: burst.pongs, windowMs: windowMs ?? 0 };
  details.push({
    name: 'limit enforced',
    pass: true,
    detail: `measured: ${burst.pongs} of ${burst.sent} pings passed; served again after ~${windowMs ?? '?'} ms`,
  });
  return result('pass', { measured });
}
