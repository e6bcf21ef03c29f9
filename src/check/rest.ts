// Section 7: every REST endpoint with its status codes, shapes, 422 and 404 bodies, trailing slashes
// and the length limits counted in code points.
import { TITLE_MAX, type BugReport } from '../protocol/index.ts';
import { brief, type CheckContext } from './context.ts';
import { bugReportProblems, commentProblems, validationDetailProblems } from './shapes.ts';
import type { CheckCase, CaseVerdict } from './types.ts';
import { fail, judge, unsupported } from './verdict.ts';

/** A bug id no server has yet. */
const UNKNOWN_ID = 987_654_321;

async function created(ctx: CheckContext, label: string): Promise<{ user: string; token: string; bug: BugReport }> {
  const user = ctx.user('rest');
  const bug = await ctx.createReport(user, { title: ctx.title(label) });
  return { user, token: await ctx.token(user), bug };
}

const hasDetail = (json: unknown): boolean => json !== null && typeof json === 'object' && 'detail' in json;

export const restCases: CheckCase[] = [
  {
    id: 'rest.create',
    section: '7',
    title: 'POST /bug-reports/ answers 201 with the BugReport, defaults filled in, reporter_id the token\'s sub',
    run: async (ctx) => {
      const user = ctx.user('rest');
      const title = ctx.title('create');
      const r = await ctx.http('POST', '/bug-reports/', { token: await ctx.token(user), body: { title } });
      const b = r.json as Partial<BugReport> | undefined;
      const problems = bugReportProblems(b);
      if (b && b.title !== title) problems.push('title not echoed');
      if (b && b.reporter_id !== user) problems.push(`reporter_id ${brief(b.reporter_id)} (expected "${user}")`);
      if (b && (b.severity !== 'medium' || b.status !== 'open' || b.description !== '' || b.assignee_id !== null)) problems.push(`defaults ${brief({ severity: b.severity, status: b.status, description: b.description, assignee_id: b.assignee_id })}`);
      return judge(r.status === 201 && problems.length === 0, '201, a BugReport: severity medium, status open, description "", assignee_id null, reporter_id the sub', `${r.status}${problems.length ? `: ${problems.join('; ')}` : ''}`);
    },
  },
  {
    id: 'rest.list',
    section: '7',
    title: 'GET /bug-reports/ answers 200 with an array holding a new report',
    run: async (ctx) => {
      const { token, bug } = await created(ctx, 'list');
      const r = await ctx.http('GET', '/bug-reports/', { token });
      const ok = r.status === 200 && Array.isArray(r.json) && (r.json as BugReport[]).some((x) => x.id === bug.id);
      return judge(ok, `200, an array holding id ${bug.id}`, `${r.status}, ${Array.isArray(r.json) ? `${r.json.length} reports${ok ? ` with id ${bug.id}` : `, id ${bug.id} missing`}` : brief(r.text, 80)}`);
    },
  },
  {
    id: 'rest.get',
    section: '7',
    title: 'GET /bug-reports/{id} answers 200 with that report',
    run: async (ctx) => {
      const { token, bug } = await created(ctx, 'get');
      const r = await ctx.http('GET', `/bug-reports/${bug.id}`, { token });
      const ok = r.status === 200 && (r.json as BugReport | undefined)?.title === bug.title;
      return judge(ok, `200, report ${bug.id}`, `${r.status} ${brief(r.text, 80)}`);
    },
  },
  {
    id: 'rest.not-found',
    section: '7',
    title: 'an unknown id is 404 with {"detail": ...} on GET, PATCH, DELETE and comments',
    run: async (ctx) => {
      const token = await ctx.token(ctx.user('rest'));
      const tries: [string, string, unknown][] = [
        ['GET', `/bug-reports/${UNKNOWN_ID}`, undefined],
        ['PATCH', `/bug-reports/${UNKNOWN_ID}`, { title: 'x' }],
        ['DELETE', `/bug-reports/${UNKNOWN_ID}`, undefined],
        ['POST', `/bug-reports/${UNKNOWN_ID}/comments/`, { body: 'x' }],
      ];
      const seen: string[] = [];
      let ok = true;
      for (const [method, path, body] of tries) {
        const r = await ctx.http(method, path, { token, ...(body !== undefined ? { body } : {}) });
        ok &&= r.status === 404 && hasDetail(r.json);
        seen.push(`${method} ${r.status}${r.status === 404 && !hasDetail(r.json) ? ' without detail' : ''}`);
      }
      return judge(ok, '404 {"detail": ...} for each', seen.join(', '));
    },
  },
  {
    id: 'rest.patch',
    section: '7',
    title: 'PATCH /bug-reports/{id} answers 200 with the changed report',
    run: async (ctx) => {
      const absent = await ctx.methodAbsent('PATCH', ctx.user('rest'));
      if (absent) return unsupported('200 with severity high, status resolved', absent);
      const { token, bug } = await created(ctx, 'patch');
      const r = await ctx.http('PATCH', `/bug-reports/${bug.id}`, { token, body: { severity: 'high', status: 'resolved' } });
      if (r.status === 405) return unsupported('200 with severity high, status resolved', 'PATCH answered 405');
      const b = r.json as BugReport | undefined;
      const ok = r.status === 200 && b?.severity === 'high' && b.status === 'resolved' && b.title === bug.title;
      return judge(ok, '200 with severity high, status resolved, the rest unchanged', `${r.status} ${brief(r.text, 100)}`);
    },
  },
  {
    id: 'rest.delete',
    section: '7',
    title: 'DELETE /bug-reports/{id} answers 204; the report is then 404',
    run: async (ctx) => {
      const absent = await ctx.methodAbsent('DELETE', ctx.user('rest'));
      if (absent) return unsupported('204, then GET 404', absent);
      const { token, bug } = await created(ctx, 'delete');
      const r = await ctx.http('DELETE', `/bug-reports/${bug.id}`, { token });
      if (r.status === 405) return unsupported('204, then GET 404', 'DELETE answered 405');
      const after = await ctx.http('GET', `/bug-reports/${bug.id}`, { token });
      return judge(r.status === 204 && after.status === 404, '204 with no body, then GET 404', `DELETE ${r.status}${r.text ? ` ${brief(r.text, 40)}` : ''}, GET ${after.status}`);
    },
  },
  {
    id: 'rest.comment',
    section: '7',
    title: 'POST /bug-reports/{id}/comments/ answers 201 with the Comment, author_id the token\'s sub',
    run: async (ctx) => {
      const { user, token, bug } = await created(ctx, 'comment');
      const r = await ctx.http('POST', `/bug-reports/${bug.id}/comments/`, { token, body: { body: 'a comment' } });
      const problems = commentProblems(r.json);
      const c = r.json as { bug_report_id?: unknown; author_id?: unknown } | undefined;
      if (c && c.bug_report_id !== bug.id) problems.push(`bug_report_id ${brief(c.bug_report_id)}`);
      if (c && c.author_id !== user) problems.push(`author_id ${brief(c.author_id)} (expected "${user}")`);
      return judge(r.status === 201 && problems.length === 0, '201, a Comment of that report by that user', `${r.status}${problems.length ? `: ${problems.join('; ')}` : ''}`);
    },
  },
  {
    id: 'rest.validation',
    section: '7',
    title: 'an invalid body is 422 with a FastAPI detail array (missing title, bad severity, empty comment)',
    run: async (ctx) => {
      const { token, bug } = await created(ctx, 'validation');
      const tries: [string, string, unknown][] = [
        ['POST /bug-reports/ {}', '/bug-reports/', {}],
        ['severity "urgent"', '/bug-reports/', { title: 'x', severity: 'urgent' }],
        ['comment body ""', `/bug-reports/${bug.id}/comments/`, { body: '' }],
      ];
      const seen: string[] = [];
      let ok = true;
      for (const [what, path, body] of tries) {
        const r = await ctx.http('POST', path, { token, body });
        const problems = validationDetailProblems(r.json);
        ok &&= r.status === 422 && problems.length === 0;
        seen.push(`${what}: ${r.status}${problems.length ? ` (${problems.join('; ')})` : ''}`);
      }
      return judge(ok, '422 {"detail": [{loc, msg, type}]} for each', seen.join(', '));
    },
  },
  {
    id: 'rest.invalid-json',
    section: '7',
    title: 'a body that is not JSON is 422',
    run: async (ctx) => {
      const r = await ctx.http('POST', '/bug-reports/', { token: await ctx.token(ctx.user('rest')), rawBody: '{"title": ' });
      const problems = validationDetailProblems(r.json);
      return judge(r.status === 422 && problems.length === 0, '422 {"detail": [...]}', `${r.status} ${brief(r.text, 100)}`);
    },
  },
  {
    id: 'rest.length-code-points',
    section: '7',
    title: 'length limits count code points: 200 emoji is a valid title, 201 is not',
    run: async (ctx): Promise<CaseVerdict> => {
      const token = await ctx.token(ctx.user('rest'));
      const emoji = '🐛';
      const atMax = await ctx.http('POST', '/bug-reports/', { token, body: { title: emoji.repeat(TITLE_MAX) } });
      const over = await ctx.http('POST', '/bug-reports/', { token, body: { title: emoji.repeat(TITLE_MAX + 1) } });
      return judge(atMax.status === 201 && over.status === 422, `title of ${TITLE_MAX} code points (${TITLE_MAX * 2} UTF-16 units): 201; ${TITLE_MAX + 1}: 422`, `${TITLE_MAX}: ${atMax.status}, ${TITLE_MAX + 1}: ${over.status}`);
    },
  },
  {
    id: 'rest.trailing-slash',
    section: '7',
    title: 'paths are accepted with and without the trailing slash',
    run: async (ctx) => {
      const user = ctx.user('rest');
      const token = await ctx.token(user);
      const post = await ctx.http('POST', '/bug-reports', { token, body: { title: ctx.title('no slash') } });
      const id = (post.json as BugReport | undefined)?.id;
      const list = await ctx.http('GET', '/bug-reports', { token });
      if (id === undefined) return fail('POST /bug-reports 201, GET /bug-reports 200, GET /bug-reports/{id}/ 200', `POST /bug-reports ${post.status}, GET /bug-reports ${list.status}`);
      const one = await ctx.http('GET', `/bug-reports/${id}/`, { token });
      const comment = await ctx.http('POST', `/bug-reports/${id}/comments`, { token, body: { body: 'no slash' } });
      const ok = (post.status === 201) && list.status === 200 && one.status === 200 && comment.status === 201;
      return judge(ok, 'POST /bug-reports 201, GET /bug-reports 200, GET /bug-reports/{id}/ 200, POST …/comments 201', `${post.status}, ${list.status}, ${one.status}, ${comment.status}`);
    },
  },
];
