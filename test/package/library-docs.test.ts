// docs/library.md's examples are code that works: each ```ts block with a file name is written to a
// scratch project that imports 'bugzapp' as a user would (the package itself, through its exports and
// its built declarations), type-checked with tsc, then run: the *.test.ts ones under vitest, the
// others with Node's own TypeScript support.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './build-dist.ts';

const DOC = join(REPO_ROOT, 'docs', 'library.md');

/** The ```ts blocks that carry `file=<name>`, in order. */
export function extractExamples(markdown: string): { file: string; code: string }[] {
  const blocks: { file: string; code: string }[] = [];
  for (const m of markdown.matchAll(/^```ts file=(\S+)\n([\s\S]*?)^```$/gm)) blocks.push({ file: m[1]!, code: m[2]! });
  return blocks;
}

/** What a script example must print, so that one that runs without doing its job fails. */
const PRINTS: Record<string, RegExp> = { 'errors.ts': /^bad option: port/m };

const examples = extractExamples(readFileSync(DOC, 'utf8'));
let project: string;

function run(args: string[], timeoutMs = 120_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, CI: process.env.CI ?? '' } });
}

function explain(res: SpawnSyncReturns<string>): string {
  return `exit ${res.status ?? res.signal}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`;
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'bugzapp-docs-'));
  // node_modules/bugzapp is this package (its dist/ and declarations, as installed); the tools its
  // examples use come from this repository's devDependencies
  mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
  symlinkSync(REPO_ROOT, join(project, 'node_modules', 'bugzapp'), 'dir');
  for (const dep of ['vitest', '@types/node']) symlinkSync(join(REPO_ROOT, 'node_modules', dep), join(project, 'node_modules', dep), 'dir');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'docs-examples', private: true, type: 'module' }));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2024', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], skipLibCheck: true, verbatimModuleSyntax: true },
      include: ['*.ts'],
    }),
  );
  for (const { file, code } of examples) writeFileSync(join(project, file), code);
});

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('docs/library.md', () => {
  it('has the examples the guide promises: a server in a vitest suite and a load test from code', () => {
    expect(examples.map((e) => e.file)).toEqual(expect.arrayContaining(['server.test.ts', 'load.test.ts', 'check.test.ts', ...Object.keys(PRINTS)]));
  });

  it('its examples type-check against the published declarations', () => {
    const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
    const res = run([tsc, '-p', 'tsconfig.json']);
    expect(res.status, explain(res)).toBe(0);
  });

  it('its vitest examples pass', () => {
    const vitest = join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const res = run([vitest, 'run', '--root', project, '--reporter', 'verbose']);
    expect(res.status, explain(res)).toBe(0);
    for (const { file } of examples.filter((e) => e.file.endsWith('.test.ts'))) expect(res.stdout).toContain(file);
  });

  it('its other examples run with Node', () => {
    for (const { file } of examples.filter((e) => !e.file.endsWith('.test.ts'))) {
      const res = run([file]);
      expect(res.status, `${file}: ${explain(res)}`).toBe(0);
      expect(res.stdout).toMatch(PRINTS[file] ?? /[^]*/);
    }
  });
});
