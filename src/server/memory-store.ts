// The embedded REST store: bug reports and comments in Maps, ids counting from 1.
import type { BugReport, BugReportCreate, BugReportPatch, Comment } from '../protocol/index.ts';
import type { Store } from './backends.ts';

export class MemoryStore implements Store {
  private readonly bugs = new Map<number, BugReport>();
  private readonly comments = new Map<number, Comment>();
  private nextBugId = 1;
  private nextCommentId = 1;

  constructor(private readonly clock: () => number = Date.now) {}

  private now(): string {
    return new Date(this.clock()).toISOString();
  }

  createBugReport(input: BugReportCreate, reporterId: string): Promise<BugReport> {
    const now = this.now();
    const bug: BugReport = {
      id: this.nextBugId++,
      title: input.title,
      description: input.description ?? '',
      severity: input.severity ?? 'medium',
      status: 'open',
      assignee_id: input.assignee_id ?? null,
      reporter_id: reporterId,
      created_at: now,
      updated_at: now,
    };
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
    for (const [cid, c] of this.comments) if (c.bug_report_id === id) this.comments.delete(cid);
    return Promise.resolve({ ...bug });
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

  close(): Promise<void> {
    return Promise.resolve();
  }
}
