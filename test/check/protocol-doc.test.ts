// docs/protocol.md and the check suite cannot drift: every rule id in the document has a case, every
// case names a rule of the document, and the versions agree.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_CASES, PROTOCOL_VERSION } from '../../src/check/index.ts';

const DOC = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
/** Rule ids are written `[group.name]`, in backticks. */
const RULE_IDS = [...DOC.matchAll(/`\[([a-z0-9-]+\.[a-z0-9.-]+)\]`/g)].map((m) => m[1]!);

describe('docs/protocol.md and the check cases', () => {
  it('has a case for every rule id in the document', () => {
    const caseIds = new Set(ALL_CASES.map((c) => c.id));
    expect(RULE_IDS.filter((id) => !caseIds.has(id))).toEqual([]);
  });

  it('names every case as a rule id in the document', () => {
    const ruleIds = new Set(RULE_IDS);
    expect(ALL_CASES.map((c) => c.id).filter((id) => !ruleIds.has(id))).toEqual([]);
  });

  it('gives each case its section: the id sits in that section of the document', () => {
    const sectionOf = (id: string): string | undefined => {
      const at = DOC.lastIndexOf(`[${id}]`);
      const heading = [...DOC.slice(0, at).matchAll(/^## (\d+)\./gm)].pop();
      return heading?.[1];
    };
    expect(ALL_CASES.filter((c) => sectionOf(c.id) !== c.section).map((c) => `${c.id}: case ${c.section}, doc ${sectionOf(c.id)}`)).toEqual([]);
  });

  it('has unique, stable dotted ids and at least 40 cases across sections 2 to 8', () => {
    const ids = ALL_CASES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+\.[a-z0-9-]+$/);
    expect(ids.length).toBeGreaterThanOrEqual(40);
    expect([...new Set(ALL_CASES.map((c) => c.section))].sort()).toEqual(['2', '3', '4', '5', '6', '7', '8']);
  });

  it('checks the version the document declares', () => {
    expect(DOC).toMatch(new RegExp(`^Protocol version: ${PROTOCOL_VERSION.replace('.', '\\.')} `, 'm'));
  });
});
