// Before the load: what does this server support? seq, cursor, resume with `since`, REST auth, PATCH,
// DELETE and an advertised rate limit, found out with one dedicated probe user and reported as findings.
// A server lacking them is not an error: the run adapts (the mix replaces what the server can't do).
import { createRestClient, type RestClient } from '../client/index.ts';
import { BugzappError, HttpStatusError } from '../errors.ts';
import { mintTokenSync, type BugReport, type ServerMessage } from '../protocol/index.ts';
import { openProbeClient, waitForMessage, type ProbeClient } from './probe-client.ts';
import type { CapabilityFinding, CapabilityName } from './types.ts';

export interface CapabilityReport {
  capabilities: Record<CapabilityName, CapabilityFinding>;
  advertisedRateLimit: { max: number; windowMs: number } | undefined;
  seq: boolean;
  resume: boolean;
  restAuth: boolean;
  patch: boolean;
  delete: boolean;
}

const sup = (detail: string): CapabilityFinding => ({ status: 'supported', detail });
const unsup = (detail: string): CapabilityFinding => ({ status: 'unsupported', detail });
const unknown = (detail: string): CapabilityFinding => ({ status: 'unknown', detail });

function isCreated(title: string) {
  return (m: ServerMessage): boolean => m.type === 'bug_report' && m.action === 'created' && m.payload.title === title;
}

async function statusOf(p: Promise<unknown>): Promise<number | 'ok' | Error> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof HttpStatusError) return err.status;
    return err instanceof Error ? err : new Error(String(err));
  }
}

export async function probeCapabilities(opts: {
  url: string;
  secret: string;
  userId: string;
  runTag: string;
  timeoutMs: number;
}): Promise<CapabilityReport> {
  const waitMs = Math.min(opts.timeoutMs, 5000);
  const token = mintTokenSync({ userId: opts.userId, secret: opts.secret });
  const rest: RestClient = createRestClient({ url: opts.url, connections: 2 });
  let probe: ProbeClient | undefined;
  let resumed: ProbeClient | undefined;
  try {
    probe = await openProbeClient({ url: opts.url, secret: opts.secret, userId: opts.userId, timeoutMs: opts.timeoutMs });
    const info = probe.info;
    const caps: Partial<Record<CapabilityName, CapabilityFinding>> = {};
    const rl = info.rateLimit;
    const advertisedRateLimit =
      rl && Number.isInteger(rl.max) && rl.max > 0 && Number.isFinite(rl.window_ms) && rl.window_ms > 0
        ? { max: rl.max, windowMs: rl.window_ms }
        : undefined;
    caps.rateLimitAdvertised = advertisedRateLimit
      ? sup(`connection_established advertises ${advertisedRateLimit.max} per ${advertisedRateLimit.windowMs} ms`)
      : unsup('connection_established carries no rate_limit');
    caps.cursor = info.cursor !== undefined ? sup('connection_established carries a cursor') : unsup('connection_established carries no cursor');

    // REST auth: a POST without a token must be refused
    // every request has a deadline: a server that never answers is a finding or a harness error, not a
    // wait for the REST client's headers timeout (30 s each)
    const answered = <T>(what: string, p: (signal: AbortSignal) => Promise<T>): Promise<T> => {
      const signal = AbortSignal.timeout(waitMs);
      return p(signal).catch((err: unknown) => {
        if (signal.aborted) throw new BugzappError('ERR_TIMEOUT', `${what} on ${opts.url} was not answered within ${waitMs} ms`);
        throw err;
      });
    };
    const noAuth = await statusOf(
      answered('POST /bug-reports/ without a token', (signal) => rest.createBugReport({ title: `bugzapp probe ${opts.runTag} (no token)` }, { signal })),
    );
    const restAuth = noAuth === 401 || noAuth === 403;
    caps.restAuth = restAuth
      ? sup(`POST without a token answered ${String(noAuth)}`)
      : noAuth === 'ok'
        ? unsup('POST /bug-reports/ without a token was accepted')
        : unknown(`POST without a token: ${noAuth instanceof Error ? noAuth.message : `HTTP ${noAuth}`}`);

    // two events, to see seq and to try a resume between them
    const t1 = `bugzapp probe ${opts.runTag} one`;
    const t2 = `bugzapp probe ${opts.runTag} two`;
    const bug1 = (await answered('POST /bug-reports/', (signal) => rest.createBugReport({ title: t1 }, { token, signal }))) as BugReport;
    const m1 = await waitForMessage(probe, isCreated(t1), waitMs);
    await answered('POST /bug-reports/', (signal) => rest.createBugReport({ title: t2 }, { token, signal }));
    const m2 = await waitForMessage(probe, isCreated(t2), waitMs);
    const seq1 = m1 && 'seq' in m1 ? m1.seq : undefined;
    const seq2 = m2 && 'seq' in m2 ? m2.seq : undefined;
    const seq = seq1 !== undefined && seq2 !== undefined;
    caps.seq = seq ? sup(`events carry seq (e.g. ${seq2})`) : m1 ? unsup('events carry no seq') : unknown('the probe received no event');

    const patch = await statusOf(
      answered('PATCH /bug-reports/{id}', (signal) => rest.updateBugReport(bug1.id, { title: `${t1} (updated)` }, { token, signal })),
    );
    caps.patch = patch === 'ok' ? sup('PATCH /bug-reports/{id} answered 2xx') : unsup(`PATCH /bug-reports/{id}: ${describe(patch)}`);
    const del = await statusOf(answered('DELETE /bug-reports/{id}', (signal) => rest.deleteBugReport(bug1.id, { token, signal })));
    caps.delete = del === 'ok' ? sup('DELETE /bug-reports/{id} answered 2xx') : unsup(`DELETE /bug-reports/{id}: ${describe(del)}`);

    // resume: reconnect with since=<seq of event one>; event two must be replayed
    let resume = false;
    if (seq && seq1 !== undefined) {
      await probe.close();
      probe = undefined;
      resumed = await openProbeClient({ url: opts.url, secret: opts.secret, userId: opts.userId, since: seq1, timeoutMs: opts.timeoutMs });
      // a replay comes right behind connection_established; a server without resume sends nothing
      const replayed = await waitForMessage(resumed, isCreated(t2), Math.min(waitMs, 1000));
      resume = replayed !== undefined;
      caps.resume = resume ? sup('a reconnect with since replays what was missed') : unsup('a reconnect with since replayed nothing');
    } else {
      caps.resume = unsup('no seq, so nothing to resume from');
    }
    return {
      capabilities: caps as Record<CapabilityName, CapabilityFinding>,
      advertisedRateLimit,
      seq,
      resume,
      restAuth,
      patch: patch === 'ok',
      delete: del === 'ok',
    };
  } finally {
    await probe?.close();
    await resumed?.close();
    await rest.close();
  }
}

function describe(s: number | 'ok' | Error): string {
  return s === 'ok' ? 'ok' : s instanceof Error ? s.message : `HTTP ${s}`;
}
