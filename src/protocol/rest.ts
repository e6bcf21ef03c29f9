// REST shapes of protocol.md section 7 and their validation, with FastAPI/pydantic-style 422 details
// so that clients written against the FastAPI backend see the same error shapes.

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const STATUSES = ['open', 'in_progress', 'resolved', 'closed'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type Status = (typeof STATUSES)[number];

export interface BugReport {
  id: number;
  title: string;
  description: string;
  severity: Severity;
  status: Status;
  assignee_id: string | null;
  reporter_id: string;
  created_at: string;
  updated_at: string;
}

export interface Comment {
  id: number;
  bug_report_id: number;
  author_id: string;
  body: string;
  created_at: string;
}

export interface BugReportCreate {
  title: string;
  description?: string;
  severity?: Severity;
  assignee_id?: string | null;
}

export interface BugReportPatch {
  title?: string;
  description?: string;
  severity?: Severity;
  status?: Status;
  assignee_id?: string | null;
}

export interface CommentCreate {
  body: string;
}

/** A new bug report as the server stores it: defaults filled in, open, created and updated `now`. */
export function newBugReport(id: number, input: BugReportCreate, reporterId: string, now: string): BugReport {
  return {
    id,
    title: input.title,
    description: input.description ?? '',
    severity: input.severity ?? 'medium',
    status: 'open',
    assignee_id: input.assignee_id ?? null,
    reporter_id: reporterId,
    created_at: now,
    updated_at: now,
  };
}

/** One entry of a FastAPI 422 `detail` array. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
  input?: unknown;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; detail: ValidationIssue[] };

export const TITLE_MAX = 200;
export const COMMENT_BODY_MAX = 10_000;
export const DESCRIPTION_MAX = 100_000;

const NOT_AN_OBJECT: ValidationIssue = {
  loc: ['body'],
  msg: 'Input should be a valid dictionary or object to extract fields from',
  type: 'model_attributes_type',
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkString(
  issues: ValidationIssue[],
  field: string,
  value: unknown,
  min: number,
  max: number,
): string | undefined {
  if (typeof value !== 'string') {
    issues.push({ loc: ['body', field], msg: 'Input should be a valid string', type: 'string_type', input: value });
    return undefined;
  }
  // lengths count code points, as pydantic does (protocol.md section 7): an emoji is one character.
  // UTF-16 length bounds the count from above, so the spread is only paid for long strings.
  const length = value.length > max ? [...value].length : value.length;
  if (length < min) {
    issues.push({
      loc: ['body', field],
      msg: `String should have at least ${min} character${min === 1 ? '' : 's'}`,
      type: 'string_too_short',
      input: value,
    });
    return undefined;
  }
  if (length > max) {
    issues.push({
      loc: ['body', field],
      msg: `String should have at most ${max} characters`,
      type: 'string_too_long',
      input: value,
    });
    return undefined;
  }
  return value;
}

function checkEnum<T extends string>(
  issues: ValidationIssue[],
  field: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const quoted = allowed.map((a) => `'${a}'`);
  const list = `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
  issues.push({ loc: ['body', field], msg: `Input should be ${list}`, type: 'enum', input: value });
  return undefined;
}

/** A user id: a string, or a number compared as its decimal string (protocol.md section 2). */
function checkUserId(issues: ValidationIssue[], field: string, value: unknown): string | null | undefined {
  if (value === null) return null;
  if (typeof value === 'string' && value.length > 0 && value.length <= 128) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  issues.push({ loc: ['body', field], msg: 'Input should be a valid string', type: 'string_type', input: value });
  return undefined;
}

/** The optional fields that create and patch share, checked into `out`. */
function checkBugReportFields(
  issues: ValidationIssue[],
  body: Record<string, unknown>,
  out: BugReportPatch,
  fields: { status: boolean },
): void {
  if (body.title !== undefined) {
    const t = checkString(issues, 'title', body.title, 1, TITLE_MAX);
    if (t !== undefined) out.title = t;
  }
  if (body.description !== undefined) {
    const d = checkString(issues, 'description', body.description, 0, DESCRIPTION_MAX);
    if (d !== undefined) out.description = d;
  }
  if (body.severity !== undefined) {
    const s = checkEnum(issues, 'severity', body.severity, SEVERITIES);
    if (s !== undefined) out.severity = s;
  }
  if (fields.status && body.status !== undefined) {
    const s = checkEnum(issues, 'status', body.status, STATUSES);
    if (s !== undefined) out.status = s;
  }
  if (body.assignee_id !== undefined) {
    const a = checkUserId(issues, 'assignee_id', body.assignee_id);
    if (a !== undefined) out.assignee_id = a;
  }
}

export function validateBugReportCreate(body: unknown): Validated<BugReportCreate> {
  if (!isPlainObject(body)) return { ok: false, detail: [NOT_AN_OBJECT] };
  const issues: ValidationIssue[] = [];
  if (body.title === undefined) {
    issues.push({ loc: ['body', 'title'], msg: 'Field required', type: 'missing', input: body });
  }
  const out: BugReportPatch = {};
  checkBugReportFields(issues, body, out, { status: false });
  return issues.length > 0 ? { ok: false, detail: issues } : { ok: true, value: out as BugReportCreate };
}

export function validateBugReportPatch(body: unknown): Validated<BugReportPatch> {
  if (!isPlainObject(body)) return { ok: false, detail: [NOT_AN_OBJECT] };
  const issues: ValidationIssue[] = [];
  const out: BugReportPatch = {};
  checkBugReportFields(issues, body, out, { status: true });
  return issues.length > 0 ? { ok: false, detail: issues } : { ok: true, value: out };
}

export function validateCommentCreate(body: unknown): Validated<CommentCreate> {
  if (!isPlainObject(body)) return { ok: false, detail: [NOT_AN_OBJECT] };
  const issues: ValidationIssue[] = [];
  if (body.body === undefined) {
    issues.push({ loc: ['body', 'body'], msg: 'Field required', type: 'missing', input: body });
    return { ok: false, detail: issues };
  }
  const b = checkString(issues, 'body', body.body, 1, COMMENT_BODY_MAX);
  return b === undefined ? { ok: false, detail: issues } : { ok: true, value: { body: b } };
}

/** The 422 detail for a body that is not JSON at all. */
export function jsonDecodeIssue(message: string): ValidationIssue[] {
  return [{ loc: ['body', 0], msg: `JSON decode error: ${message}`, type: 'json_invalid' }];
}

/** The notification text of protocol.md section 4. */
export function assignmentNotificationText(title: string): string {
  return `New bug report assigned: ${title}`;
}

/** The reference server's notification text for a comment on a bug report assigned to the recipient. */
export function commentNotificationText(title: string): string {
  return `New comment on bug report: ${title}`;
}

/** REST paths, without the trailing slash; servers accept both forms. */
export const RestPath = {
  bugReports: '/bug-reports',
  bugReport: (id: number | string) => `/bug-reports/${id}`,
  comments: (id: number | string) => `/bug-reports/${id}/comments`,
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  ws: '/ws',
} as const;
