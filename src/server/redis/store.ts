// Bug reports and comments in Redis, so that every instance serves the same data and ids are unique
// across instances (INCR). Bug reports: one hash, id -> JSON; comments: one hash per bug report.
// PATCH, DELETE and adding a comment are Lua scripts, atomic against concurrent requests on any instance.
import type { Redis } from 'ioredis';
import type { BugReport, BugReportCreate, BugReportPatch, Comment } from '../../protocol/index.ts';
import { newBugReport } from '../../protocol/index.ts';
import type { Store, StoreChange } from '../backends.ts';
import { defineScript, unavailable, type ScriptFn } from './connection.ts';
import type { RedisMetrics } from './metrics.ts';
import { ADD_COMMENT_LUA, DELETE_BUG_LUA, PATCH_BUG_LUA, REVERT_LUA } from './scripts.ts';

export interface RedisStoreOptions {
  redis: Redis;
  /** Key prefix, e.g. 'bugzapp:'. */
  prefix: string;
  metrics: RedisMetrics;
  /** Milliseconds since the epoch, for created_at/updated_at. @default Date.now */
  clock?: () => number;
}

const PATCH_FIELDS = ['title', 'description', 'severity', 'status', 'assignee_id'] as const;

/** How long a deleted bug report's comments are kept for a revert (the request is long done by then). */
const DELETED_COMMENTS_MS = 60_000;

export class RedisStore implements Store {
  private readonly redis: Redis;
  private readonly metrics: RedisMetrics;
  private readonly clock: () => number;
  private readonly bugsKey: string;
  private readonly bugIdKey: string;
  private readonly commentIdKey: string;
  private readonly prefix: string;
  private readonly patchScript: ScriptFn;
  private readonly deleteScript: ScriptFn;
  private readonly addCommentScript: ScriptFn;
  private readonly revertScript: ScriptFn;

  constructor(options: RedisStoreOptions) {
    this.redis = options.redis;
    this.metrics = options.metrics;
    this.clock = options.clock ?? Date.now;
    this.prefix = options.prefix;
    this.bugsKey = `${this.prefix}bugs`;
    this.bugIdKey = `${this.prefix}bug-id`;
    this.commentIdKey = `${this.prefix}comment-id`;
    this.patchScript = defineScript(this.redis, 'bugzappPatchBug', PATCH_BUG_LUA, 1);
    this.deleteScript = defineScript(this.redis, 'bugzappDeleteBug', DELETE_BUG_LUA, 3);
    this.addCommentScript = defineScript(this.redis, 'bugzappAddComment', ADD_COMMENT_LUA, 2);
    this.revertScript = defineScript(this.redis, 'bugzappRevert', REVERT_LUA, 3);
  }

  private commentsKey(bugId: number): string {
    return `${this.prefix}comments:${bugId}`;
  }

  /** Where a deleted bug report's comments wait (DELETED_COMMENTS_MS) in case the delete is reverted. */
  private deletedCommentsKey(bugId: number): string {
    return `${this.prefix}deleted-comments:${bugId}`;
  }

  private now(): string {
    return new Date(this.clock()).toISOString();
  }

  private async guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      this.metrics.errors.inc({ op: 'store' });
      throw unavailable(what, err);
    }
  }

  createBugReport(input: BugReportCreate, reporterId: string): Promise<BugReport> {
    return this.guard('could not store the bug report', async () => {
      const id = await this.redis.incr(this.bugIdKey);
      const bug = newBugReport(id, input, reporterId, this.now());
      await this.redis.hset(this.bugsKey, String(id), JSON.stringify(bug));
      return bug;
    });
  }

  listBugReports(): Promise<BugReport[]> {
    return this.guard('could not list bug reports', async () => {
      const all = await this.redis.hvals(this.bugsKey);
      return all.map((json) => JSON.parse(json) as BugReport).sort((a, b) => a.id - b.id);
    });
  }

  getBugReport(id: number): Promise<BugReport | undefined> {
    return this.guard('could not read the bug report', async () => {
      const json = await this.redis.hget(this.bugsKey, String(id));
      return json === null ? undefined : (JSON.parse(json) as BugReport);
    });
  }

  updateBugReport(id: number, patch: BugReportPatch): Promise<{ before: BugReport; after: BugReport } | undefined> {
    return this.guard('could not update the bug report', async () => {
      const fields: Record<string, unknown> = {};
      for (const name of PATCH_FIELDS) if (patch[name] !== undefined) fields[name] = patch[name];
      const reply = (await this.patchScript(this.bugsKey, String(id), JSON.stringify(fields), this.now())) as
        | [string, string]
        | null;
      if (reply === null) return undefined;
      return { before: JSON.parse(reply[0]) as BugReport, after: JSON.parse(reply[1]) as BugReport };
    });
  }

  deleteBugReport(id: number): Promise<BugReport | undefined> {
    return this.guard('could not delete the bug report', async () => {
      const json = (await this.deleteScript(
        this.bugsKey,
        this.commentsKey(id),
        this.deletedCommentsKey(id),
        String(id),
        DELETED_COMMENTS_MS,
      )) as string | null;
      return json === null ? undefined : (JSON.parse(json) as BugReport);
    });
  }

  createComment(bugReportId: number, body: string, authorId: string): Promise<Comment | undefined> {
    return this.guard('could not store the comment', async () => {
      if ((await this.redis.hexists(this.bugsKey, String(bugReportId))) === 0) return undefined;
      const comment: Comment = {
        id: await this.redis.incr(this.commentIdKey),
        bug_report_id: bugReportId,
        author_id: authorId,
        body,
        created_at: this.now(),
      };
      const added = await this.addCommentScript(
        this.bugsKey,
        this.commentsKey(bugReportId),
        String(bugReportId),
        String(comment.id),
        JSON.stringify(comment),
      );
      return added === 1 ? comment : undefined;
    });
  }

  /**
   * Undo a change whose event could not be published (one atomic script), only when the record is
   * still exactly as the change left it: a later request's change is never clobbered.
   */
  revert(change: StoreChange): Promise<boolean> {
    return this.guard('could not revert the change', async () => {
      let bugId: number;
      let args: [id: number, left: string, restore: string];
      switch (change.kind) {
        case 'bug_report_created':
          bugId = change.bug.id;
          args = [bugId, JSON.stringify(change.bug), ''];
          break;
        case 'bug_report_updated':
          bugId = change.after.id;
          args = [bugId, JSON.stringify(change.after), JSON.stringify(change.before)];
          break;
        case 'bug_report_deleted':
          bugId = change.bug.id;
          args = [bugId, '', JSON.stringify(change.bug)];
          break;
        case 'comment_created':
          bugId = change.comment.bug_report_id;
          args = [change.comment.id, JSON.stringify(change.comment), ''];
          break;
      }
      const undone = await this.revertScript(
        this.bugsKey,
        this.commentsKey(bugId),
        this.deletedCommentsKey(bugId),
        change.kind,
        String(args[0]),
        args[1],
        args[2],
      );
      return undone === 1;
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
