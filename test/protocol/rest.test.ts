import { describe, expect, it } from 'vitest';
import {
  validateBugReportCreate,
  validateBugReportPatch,
  validateCommentCreate,
  TITLE_MAX,
} from '../../src/protocol/index.ts';

describe('REST body validation (FastAPI-style 422 details)', () => {
  it('requires a title and reports it at body.title as missing', () => {
    const r = validateBugReportCreate({ description: 'd' });
    expect(r).toEqual({ ok: false, detail: [expect.objectContaining({ loc: ['body', 'title'], type: 'missing' })] });
  });
  it('bounds the title length', () => {
    expect(validateBugReportCreate({ title: '' })).toMatchObject({ ok: false, detail: [{ type: 'string_too_short' }] });
    expect(validateBugReportCreate({ title: 'x'.repeat(TITLE_MAX + 1) })).toMatchObject({
      ok: false,
      detail: [{ type: 'string_too_long' }],
    });
    expect(validateBugReportCreate({ title: 'x'.repeat(TITLE_MAX) }).ok).toBe(true);
  });
  it('counts lengths in code points, as pydantic does: 200 emoji is a valid title, 201 is not', () => {
    expect(validateBugReportCreate({ title: '🐛'.repeat(TITLE_MAX) }).ok).toBe(true);
    expect(validateBugReportCreate({ title: '🐛'.repeat(TITLE_MAX + 1) })).toMatchObject({ ok: false, detail: [{ type: 'string_too_long' }] });
    expect(validateCommentCreate({ body: '🐛' })).toEqual({ ok: true, value: { body: '🐛' } });
  });
  it('lists every bad field at once', () => {
    const r = validateBugReportCreate({ title: 3, severity: 'urgent', assignee_id: {} });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.detail.map((d) => d.loc[1])).toEqual(['title', 'severity', 'assignee_id']);
  });
  it('takes a numeric assignee as its decimal string', () => {
    expect(validateBugReportCreate({ title: 't', assignee_id: 42 })).toEqual({ ok: true, value: { title: 't', assignee_id: '42' } });
  });
  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'x', 3]) {
      expect(validateBugReportCreate(body)).toMatchObject({ ok: false, detail: [{ loc: ['body'], type: 'model_attributes_type' }] });
    }
  });
  it('validates patches field by field, status included', () => {
    expect(validateBugReportPatch({ status: 'resolved', assignee_id: null })).toEqual({
      ok: true,
      value: { status: 'resolved', assignee_id: null },
    });
    expect(validateBugReportPatch({ status: 'done' })).toMatchObject({ ok: false, detail: [{ loc: ['body', 'status'], type: 'enum' }] });
  });
  it('requires a non-empty comment body', () => {
    expect(validateCommentCreate({})).toMatchObject({ ok: false, detail: [{ type: 'missing' }] });
    expect(validateCommentCreate({ body: '' })).toMatchObject({ ok: false, detail: [{ type: 'string_too_short' }] });
    expect(validateCommentCreate({ body: 'ok' })).toEqual({ ok: true, value: { body: 'ok' } });
  });
});
