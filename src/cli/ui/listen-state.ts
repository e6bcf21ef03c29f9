// The state of `bugzapp listen`, and the pure functions that advance it. The Ink view and the status
// lines of --json are both renderings of this one object.
import type { ClientState } from '../../client/index.ts';
import type { LoggedEvent, LoggedEventType } from '../../protocol/index.ts';

export type ConnectionView =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'live'; connectionId: string | undefined; userId: string | undefined }
  | { kind: 'reconnecting'; attempt: number; max: number; delayMs: number; reason: string }
  | { kind: 'closed'; error: string | undefined };

export type ResumeView =
  | { kind: 'none' }
  | { kind: 'resumed'; replayed: number }
  | { kind: 'unsupported' }
  | { kind: 'window-exceeded'; oldest: string | undefined };

export interface ListenEntry {
  receivedAt: number;
  type: LoggedEventType;
  action: string | undefined;
  summary: string;
  seq: string | undefined;
  /** receivedAt minus the payload's timestamp (created_at; updated_at for an update), when present. */
  delayMs: number | undefined;
}

export interface ListenState {
  url: string;
  user: string | undefined;
  connection: ConnectionView;
  resume: ResumeView;
  /** The newest events, oldest first, at most `keep`. */
  recent: ListenEntry[];
  keep: number;
  counts: Record<LoggedEventType, number>;
  total: number;
  connections: number;
  /** The last error message the server sent (rate limit, invalid frame...). */
  serverError: string | undefined;
}

export function initialListenState(url: string, user: string | undefined, keep = 15): ListenState {
  return {
    url,
    user,
    connection: { kind: 'connecting', attempt: 0 },
    resume: { kind: 'none' },
    recent: [],
    keep,
    counts: { bug_report: 0, comment: 0, notification: 0 },
    total: 0,
    connections: 0,
    serverError: undefined,
  };
}

export function withClientState(state: ListenState, s: ClientState): ListenState {
  switch (s.state) {
    case 'idle':
    case 'connecting':
      return { ...state, connection: { kind: 'connecting', attempt: s.state === 'connecting' ? s.attempt : 0 } };
    case 'open':
      return state;
    case 'reconnecting':
      return {
        ...state,
        connection: { kind: 'reconnecting', attempt: s.attempt, max: s.max, delayMs: s.delayMs, reason: s.reason },
      };
    case 'closed':
      return { ...state, connection: { kind: 'closed', error: s.error?.message } };
  }
}

export function withConnected(state: ListenState, info: { connectionId: string | undefined; userId: string | undefined }): ListenState {
  return {
    ...state,
    connection: { kind: 'live', connectionId: info.connectionId, userId: info.userId },
    connections: state.connections + 1,
  };
}

export function withResume(state: ListenState, resume: ResumeView): ListenState {
  return { ...state, resume };
}

export function withServerError(state: ListenState, message: string): ListenState {
  return { ...state, serverError: message };
}

export function withEvent(state: ListenState, event: LoggedEvent, receivedAt: number): ListenState {
  const entry = toEntry(event, receivedAt);
  const recent = state.recent.length >= state.keep ? [...state.recent.slice(state.recent.length - state.keep + 1), entry] : [...state.recent, entry];
  return {
    ...state,
    recent,
    counts: { ...state.counts, [event.type]: state.counts[event.type] + 1 },
    total: state.total + 1,
  };
}

export function toEntry(event: LoggedEvent, receivedAt: number): ListenEntry {
  return {
    receivedAt,
    type: event.type,
    action: 'action' in event ? event.action : undefined,
    summary: summarize(event),
    seq: event.seq,
    delayMs: eventDelay(event, receivedAt),
  };
}

function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** One line on what the event says. */
export function summarize(event: LoggedEvent): string {
  switch (event.type) {
    case 'bug_report': {
      const p = event.payload;
      const assignee = p.assignee_id ? ` → ${p.assignee_id}` : '';
      return `#${p.id} [${p.severity}/${p.status}] ${clip(String(p.title ?? ''), 60)}${assignee}`;
    }
    case 'comment': {
      const p = event.payload;
      return `#${p.bug_report_id} ${p.author_id}: ${clip(String(p.body ?? ''), 60)}`;
    }
    case 'notification':
      return clip(String(event.payload.message ?? ''), 80);
  }
}

/** Delay since the payload's own timestamp: updated_at for an update, else created_at. */
export function eventDelay(event: LoggedEvent, receivedAt: number): number | undefined {
  const p = event.payload as unknown as Record<string, unknown>;
  const stamp = 'action' in event && event.action === 'updated' && typeof p.updated_at === 'string' ? p.updated_at : p.created_at;
  if (typeof stamp !== 'string') return undefined;
  const t = Date.parse(stamp);
  return Number.isNaN(t) ? undefined : Math.max(0, receivedAt - t);
}

/** The connection line, shared by the Ink view and the --json status lines. */
export function describeConnection(c: ConnectionView): string {
  switch (c.kind) {
    case 'connecting':
      return c.attempt > 0 ? `connecting (try ${c.attempt})` : 'connecting';
    case 'live':
      return `live${c.userId ? ` as user ${c.userId}` : ''}${c.connectionId ? ` (${c.connectionId})` : ''}`;
    case 'reconnecting': {
      const secs = c.delayMs >= 1000 ? `${Math.round(c.delayMs / 1000)} s` : `${c.delayMs} ms`;
      return `reconnecting in ${secs} (try ${c.attempt}/${c.max === 0 ? '∞' : c.max}): ${c.reason}`;
    }
    case 'closed':
      return c.error ? `stopped: ${c.error}` : 'closed';
  }
}

export function describeResume(r: ResumeView): string | undefined {
  switch (r.kind) {
    case 'none':
      return undefined;
    case 'resumed':
      return `resumed with ${r.replayed} missed event${r.replayed === 1 ? '' : 's'}`;
    case 'unsupported':
      return 'resume unsupported by this server: events sent during a drop are lost';
    case 'window-exceeded':
      return `resume window exceeded: events were lost${r.oldest ? ` (oldest held: ${r.oldest})` : ''}; re-fetch over REST`;
  }
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

export function formatDelay(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `+${Math.round(ms)}ms`;
  if (ms < 60_000) return `+${(ms / 1000).toFixed(1)}s`;
  return `+${Math.round(ms / 60_000)}m`;
}
