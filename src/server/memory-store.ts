// The embedded REST store: bug reports and comments in Maps, ids counting from 1.
import type { BugReport, BugReportCreate, BugReportPatch, Comment } from '../protocol/index.ts';
import { newBugReport } from '../protocol/index.ts';
import type { Store, StoreChange } from './backends.ts';

/** Same fields, same values (records hold only strings, numbers and null). */
function sameRecord(a: object, b: object): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}

export class MemoryStore implements Store {
  private readonly bugs = new Map<number, BugReport>();
  private readonly comments = new Map<number, Comment>();
  /**
   * The comments a delete removed, keyed by the object deleteBugReport returned: a reverted delete
   * puts them back, and they are garbage once the request that deleted is done with that object.
   */
  private readonly removedComments = new WeakMap<BugReport, Comment[]>();
  private nextBugId = 1;
  private nextCommentId = 1;

  constructor(private readonly clock: () => number = Date.now) {}

  private now(): string {
    return new Date(this.clock()).toISOString();
  }

  createBugReport(input: BugReportCreate, reporterId: string): Promise<BugReport> {
    const bug = newBugReport(this.nextBugId++, input, reporterId, this.now());
    this.bugs.set(bug.id, bug);
    return Promise.resolve({ ...bug });
  }

  listBugReports(): Promise<BugReport[]> {
    return Promise.resolve([...this.bugs.values()].map((b) => ({ ...b })));
  }

  getBugReport(id: number): Promise<BugReport | undefined> {
    const bug = this.bugs.get(id);
    return Promise.resolve(bug ? { ...bug } : undefined);
  }

  updateBugReport(id: number, patch: BugReportPatch): Promise<{ before: BugReport; after: BugReport } | undefined> {
    const before = this.bugs.get(id);
    if (!before) return Promise.resolve(undefined);
    const after: BugReport = { ...before, updated_at: this.now() };
    if (patch.title !== undefined) after.title = patch.title;
    if (patch.description !== undefined) after.description = patch.description;
    if (patch.severity !== undefined) after.severity = patch.severity;
    if (patch.status !== undefined) after.status = patch.status;
    if (patch.assignee_id !== undefined) after.assignee_id = patch.assignee_id;
    this.bugs.set(id, after);
    return Promise.resolve({ before: { ...before }, after: { ...after } });
  }

  deleteBugReport(id: number): Promise<BugReport | undefined> {
    const bug = this.bugs.get(id);
    if (!bug) return Promise.resolve(undefined);
    this.bugs.delete(id);
    const removed: Comment[] = [];
    for (const [cid, c] of this.comments) {
      if (c.bug_report_id !== id) continue;
      removed.push(c);
      this.comments.delete(cid);
    }
    const last = { ...bug };
    if (removed.length > 0) this.removedComments.set(last, removed);
    return Promise.resolve(last);
  }

  createComment(bugReportId: number, body: string, authorId: string): Promise<Comment | undefined> {
    if (!this.bugs.has(bugReportId)) return Promise.resolve(undefined);
    const comment: Comment = {
      id: this.nextCommentId++,
      bug_report_id: bugReportId,
      author_id: authorId,
      body,
      created_at: this.now(),
    };
    this.comments.set(comment.id, comment);
    return Promise.resolve({ ...comment });
  }

  revert(change: StoreChange): Promise<boolean> {
    return Promise.resolve(this.revertNow(change));
  }

  private revertNow(change: StoreChange): boolean {
    switch (change.kind) {
      case 'bug_report_created': {
        const current = this.bugs.get(change.bug.id);
        if (!current || !sameRecord(current, change.bug)) return false;
        // a comment on it is a later request's change: keep both
        for (const c of this.comments.values()) if (c.bug_report_id === change.bug.id) return false;
        this.bugs.delete(change.bug.id);
        return true;
      }
      case 'bug_report_updated': {
        const current = this.bugs.get(change.after.id);
        if (!current || !sameRecord(current, change.after)) return false;
        this.bugs.set(change.before.id, { ...change.before });
        return true;
      }
      case 'bug_report_deleted': {
        // ids are never reused, so a free id means nothing took the report's place
        if (this.bugs.has(change.bug.id)) return false;
        this.bugs.set(change.bug.id, { ...change.bug });
        for (const c of this.removedComments.get(change.bug) ?? []) this.comments.set(c.id, c);
        this.removedComments.delete(change.bug);
        return true;
      }
      case 'comment_created': {
        const current = this.comments.get(change.comment.id);
        if (!current || !sameRecord(current, change.comment)) return false;
        this.comments.delete(change.comment.id);
        return true;
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
