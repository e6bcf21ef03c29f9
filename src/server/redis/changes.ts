// REST changes in Redis, each with its events in one Lua script (store write, broadcast and
// notification: both or neither), so that every instance publishes changes in the order the store
// applied them and a 2xx always has all its events in the stream. Nothing is ever reverted: a call
// whose outcome is unknown (a timeout, a connection cut after sending) is answered as unknown.
import { Redis, ReplyError } from 'ioredis';
import {
  assignmentNotificationText,
  commentNotificationText,
  encode,
  newBugReport,
  type BugReport,
  type BugReportCreate,
  type BugReportPatch,
  type Comment,
  type LoggedEvent,
} from '../../protocol/index.ts';
import { BugzappError } from '../../errors.ts';
import type { AtomicChanges, UnsequencedEvent } from '../backends.ts';
import { defineScript, errorText, type ScriptFn } from './connection.ts';
import type { RedisLogKeys } from './engine.ts';
import type { RedisMetrics } from './metrics.ts';
import { COMMENT_CHANGE_LUA, CREATE_BUG_CHANGE_LUA, DELETE_BUG_CHANGE_LUA, PATCH_BUG_CHANGE_LUA } from './scripts.ts';
import { randomBytes } from 'node:crypto';

export interface RedisChangesOptions {
  redis: Redis;
  /** Key prefix of the store, e.g. 'bugzapp:' (the same keys RedisStore reads). */
  prefix: string;
  /** The event log's keys. */
  keys: RedisLogKeys;
  /** Events kept in the stream. */
  history: number;
  metrics: RedisMetrics;
  /** Milliseconds since the epoch, for created_at/updated_at. @default Date.now */
  clock?: () => number;
}

const PATCH_FIELDS = ['title', 'description', 'severity', 'status', 'assignee_id'] as const;

/** The notification texts up to the title: the script appends the title it reads in the same step. */
const ASSIGNED_PREFIX = assignmentNotificationText('');
const COMMENTED_PREFIX = commentNotificationText('');

/** A message of the log without its seq (the reader adds it), through the one encoder. */
function message(event: UnsequencedEvent): string {
  return encode(event as LoggedEvent);
}

/**
 * Known not to have run: refused before sending (connection down) or answered with an error by Redis
 * (a script error aborts before its writes here). Anything else (a timeout, a connection lost while
 * waiting) may have run.
 */
function knownNotApplied(err: unknown): boolean {
  if (err instanceof ReplyError) return true;
  return /enableOfflineQueue options is false/.test(errorText(err));
}

export class RedisChanges implements AtomicChanges {
  private readonly redis: Redis;
  private readonly metrics: RedisMetrics;
  private readonly clock: () => number;
  private readonly prefix: string;
  private readonly keys: RedisLogKeys;
  private readonly history: number;
  private readonly createScript: ScriptFn;
  private readonly patchScript: ScriptFn;
  private readonly deleteScript: ScriptFn;
  private readonly commentScript: ScriptFn;

  constructor(options: RedisChangesOptions) {
    this.redis = options.redis;
    this.metrics = options.metrics;
    this.clock = options.clock ?? Date.now;
    this.prefix = options.prefix;
    this.keys = options.keys;
    this.history = options.history;
    this.createScript = defineScript(this.redis, 'bugzappCreateBugChange', CREATE_BUG_CHANGE_LUA, 4);
    this.patchScript = defineScript(this.redis, 'bugzappPatchBugChange', PATCH_BUG_CHANGE_LUA, 4);
    this.deleteScript = defineScript(this.redis, 'bugzappDeleteBugChange', DELETE_BUG_CHANGE_LUA, 5);
    this.commentScript = defineScript(this.redis, 'bugzappCommentChange', COMMENT_CHANGE_LUA, 5);
  }

  private get bugsKey(): string {
    return `${this.prefix}bugs`;
  }

  private commentsKey(bugId: number): string {
    return `${this.prefix}comments:${bugId}`;
  }

  private now(): string {
    return new Date(this.clock()).toISOString();
  }

  /** KEYS and the first ARGVs every change script takes (see CHANGE_PRELUDE). */
  private logArgs(extraKeys: string[]): (string | number)[] {
    const { stream, epoch, trim } = this.keys;
    return [stream, epoch, trim, this.bugsKey, ...extraKeys, randomBytes(4).toString('hex'), this.history];
  }

  /** Run one change script; a failure says whether the change is known not to have happened. */
  private async run<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (knownNotApplied(err)) {
        this.metrics.errors.inc({ op: 'store' });
        throw new BugzappError('ERR_BACKEND_UNAVAILABLE', `Redis unavailable: could not ${what} (${errorText(err)}); nothing was changed`, {
          cause: err,
        });
      }
      this.metrics.errors.inc({ op: 'unknown_outcome' });
      throw new BugzappError(
        'ERR_BACKEND_UNAVAILABLE',
        `outcome unknown: Redis did not confirm the request to ${what} (${errorText(err)}); it may have been applied ` +
          'and its events published: read the resource (GET) before retrying',
        { cause: err },
      );
    }
  }

  async createBugReport(input: BugReportCreate, reporterId: string): Promise<BugReport> {
    // an id taken by a request that then fails is skipped, never reused: harmless
    const id = await this.run('store the bug report', () => this.redis.incr(`${this.prefix}bug-id`));
    const bug = newBugReport(id, input, reporterId, this.now());
    const assignee = bug.assignee_id ?? '';
    await this.run('store the bug report', () =>
      this.createScript(
        ...this.logArgs([]),
        String(id),
        JSON.stringify(bug),
        message({ type: 'bug_report', action: 'created', payload: bug }),
        assignee,
        assignee === ''
          ? ''
          : message({ type: 'notification', payload: { message: assignmentNotificationText(bug.title), bug_report_id: bug.id } }),
      ),
    );
    return bug;
  }

  async updateBugReport(id: number, patch: BugReportPatch): Promise<{ before: BugReport; after: BugReport } | undefined> {
    const fields: Record<string, unknown> = {};
    for (const name of PATCH_FIELDS) if (patch[name] !== undefined) fields[name] = patch[name];
    const reply = (await this.run('update the bug report', () =>
      this.patchScript(...this.logArgs([]), String(id), JSON.stringify(fields), this.now(), ASSIGNED_PREFIX),
    )) as [string, string] | null;
    if (reply === null) return undefined;
    return { before: JSON.parse(reply[0]) as BugReport, after: JSON.parse(reply[1]) as BugReport };
  }

  async deleteBugReport(id: number): Promise<BugReport | undefined> {
    const json = (await this.run('delete the bug report', () =>
      this.deleteScript(...this.logArgs([this.commentsKey(id)]), String(id)),
    )) as string | null;
    return json === null ? undefined : (JSON.parse(json) as BugReport);
  }

  async createComment(bugReportId: number, body: string, authorId: string): Promise<Comment | undefined> {
    const comment: Comment = {
      id: await this.run('store the comment', () => this.redis.incr(`${this.prefix}comment-id`)),
      bug_report_id: bugReportId,
      author_id: authorId,
      body,
      created_at: this.now(),
    };
    const added = await this.run('store the comment', () =>
      this.commentScript(
        ...this.logArgs([this.commentsKey(bugReportId)]),
        String(bugReportId),
        String(comment.id),
        JSON.stringify(comment),
        message({ type: 'comment', action: 'created', payload: comment }),
        authorId,
        COMMENTED_PREFIX,
      ),
    );
    return added === 1 ? comment : undefined;
  }
}
