// Shape checks of the REST resources of protocol.md section 7, as lists of what is wrong.
import { SEVERITIES, STATUSES } from '../protocol/index.ts';

const isIso = (v: unknown): boolean => typeof v === 'string' && !Number.isNaN(Date.parse(v));

export function bugReportProblems(v: unknown): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return ['not an object'];
  const r = v as Record<string, unknown>;
  const p: string[] = [];
  if (typeof r.id !== 'number') p.push('id not a number');
  if (typeof r.title !== 'string') p.push('title not a string');
  if (typeof r.description !== 'string') p.push('description not a string');
  if (!(SEVERITIES as readonly unknown[]).includes(r.severity)) p.push(`severity ${JSON.stringify(r.severity)}`);
  if (!(STATUSES as readonly unknown[]).includes(r.status)) p.push(`status ${JSON.stringify(r.status)}`);
  if (!(r.assignee_id === null || typeof r.assignee_id === 'string')) p.push(`assignee_id ${JSON.stringify(r.assignee_id)} not a string or null`);
  if (typeof r.reporter_id !== 'string') p.push(`reporter_id ${JSON.stringify(r.reporter_id)} not a string`);
  if (!isIso(r.created_at)) p.push('created_at not ISO-8601');
  if (!isIso(r.updated_at)) p.push('updated_at not ISO-8601');
  return p;
}

export function commentProblems(v: unknown): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return ['not an object'];
  const c = v as Record<string, unknown>;
  const p: string[] = [];
  if (typeof c.id !== 'number') p.push('id not a number');
  if (typeof c.bug_report_id !== 'number') p.push('bug_report_id not a number');
  if (typeof c.author_id !== 'string') p.push(`author_id ${JSON.stringify(c.author_id)} not a string`);
  if (typeof c.body !== 'string') p.push('body not a string');
  if (!isIso(c.created_at)) p.push('created_at not ISO-8601');
  return p;
}

/** A FastAPI 422 body: {"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]}. */
export function validationDetailProblems(v: unknown): string[] {
  const d = (v as { detail?: unknown } | undefined)?.detail;
  if (!Array.isArray(d) || d.length === 0) return ['detail is not a non-empty array'];
  const bad = d.filter((i) => {
    const x = i as Record<string, unknown> | null;
    return !x || !Array.isArray(x.loc) || typeof x.msg !== 'string' || typeof x.type !== 'string';
  });
  return bad.length ? [`${bad.length} detail entries lack loc/msg/type`] : [];
}
