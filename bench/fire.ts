// The sending side of the bench: POST /bug-reports/ at a fixed open arrival rate (a slow server never
// slows the sender), each report carrying its absolute send time in `description` as `t=<epoch ms>`.
import { Pool } from 'undici';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { BugReportCreate } from '../src/protocol/index.ts';

export interface FireOptions {
  /** http://host:port of each instance; POST k goes to postUrls[k % length]. */
  postUrls: string[];
  token: string;
  /** POSTs per second. */
  rate: number;
  /** Measured POSTs. */
  count: number;
  /** POSTs sent first, titled "warmup": delivered and counted, but not in the latency histogram. */
  warmup: number;
  /** After the last send, how long to wait for answers still due; the rest are abandoned as failed. @default 15000 */
  answerTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface FireResult {
  sent: number;
  created: number;
  failed: number;
  firstError?: string;
  /** epoch ms of the first and last send */
  firstSentAt: number;
  lastSentAt: number;
  /** Worst delay between a POST's scheduled and actual send time: the sender's own saturation. */
  scheduleLagMaxMs: number;
  senderLagP99Ms: number;
  /** Slowest 201, ms. */
  restMaxMs: number;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

export async function fireReports(options: FireOptions): Promise<FireResult> {
  const pools = options.postUrls.map((u) => new Pool(u, { connections: 16, pipelining: 1 }));
  const lag = monitorEventLoopDelay({ resolution: 10 }); // values are whole intervals: subtract 10
  lag.enable();
  const total = options.warmup + options.count;
  const intervalMs = 1000 / options.rate;
  const inflight: Promise<void>[] = [];
  const abandon = new AbortController();
  const result: FireResult = {
    sent: 0,
    created: 0,
    failed: 0,
    firstSentAt: 0,
    lastSentAt: 0,
    scheduleLagMaxMs: 0,
    senderLagP99Ms: 0,
    restMaxMs: 0,
  };
  const postOne = async (k: number): Promise<void> => {
    const sentAt = epochNow();
    const body: BugReportCreate = {
      title: k < options.warmup ? 'warmup' : `bench ${k}`,
      description: `t=${sentAt}`,
      severity: 'low',
    };
    if (k === 0) result.firstSentAt = sentAt;
    result.lastSentAt = sentAt;
    result.sent += 1;
    try {
      const res = await pools[k % pools.length]!.request({
        method: 'POST',
        path: '/bug-reports/',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
        body: JSON.stringify(body),
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
        signal: abandon.signal,
      });
      await res.body.dump();
      if (res.statusCode === 201) {
        result.created += 1;
        result.restMaxMs = Math.max(result.restMaxMs, epochNow() - sentAt);
      } else {
        result.failed += 1;
        result.firstError ??= `HTTP ${res.statusCode}`;
      }
    } catch (err) {
      result.failed += 1;
      result.firstError ??= abandon.signal.aborted
        ? `no answer within ${answerTimeoutMs} ms after the last send`
        : err instanceof Error
          ? err.message
          : String(err);
    }
  };
  const answerTimeoutMs = options.answerTimeoutMs ?? 15_000;
  const t0 = performance.now();
  try {
    for (let k = 0; k < total; k++) {
      if (options.signal?.aborted) break;
      const due = t0 + k * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      result.scheduleLagMaxMs = Math.max(result.scheduleLagMaxMs, performance.now() - due);
      inflight.push(postOne(k));
    }
    // a server that answers slower than it is asked (the guide's server awaits every send before its
    // 201) is given a bounded time, then its outstanding requests are abandoned
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      Promise.all(inflight).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), answerTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!answered) {
      abandon.abort();
      await Promise.all(inflight);
    }
  } finally {
    lag.disable();
    result.senderLagP99Ms = lag.count ? Math.max(0, lag.percentile(99) / 1e6 - 10) : 0;
    await Promise.all(pools.map((p) => p.destroy()));
  }
  return result;
}
