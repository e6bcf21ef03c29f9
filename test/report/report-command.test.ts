// `bugzapp report FILE.json`: each renderer from a saved report (the same output as the library's), a
// bare LoadTestResult judged, and every bad input an exit 2 that names the file or the flag.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { run } from '../helpers/cli.ts';
import { parseGates } from '../../src/loadtest/gates.ts';
import { buildLoadReport, formatJsonReport, parseLoadReport } from '../../src/loadtest/report-json.ts';
import { formatHtmlReport } from '../../src/loadtest/report-html.ts';
import { formatJUnit } from '../../src/loadtest/report-junit.ts';
import { formatMarkdownSummary } from '../../src/loadtest/report-markdown.ts';
import { formatTextSummary } from '../../src/loadtest/report-text.ts';
import { sampleResult } from '../loadtest/result-fixture.ts';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bugzapp-report-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const REPORT = buildLoadReport(
  sampleResult((r) => {
    r.timeline = [{ t: 0, fired: 20, accepted: 20, delivered: 367, p50Ms: 2, p99Ms: 9, connections: 20, errors: 0 }];
  }),
  parseGates(['p99<=50ms']),
);

describe('bugzapp report', () => {
  it('renders a saved report as the library does: html, junit, markdown, text (the default)', async () => {
    const dir = await tempDir();
    const file = join(dir, 'R.json');
    await writeFile(file, formatJsonReport(REPORT));
    const html = join(dir, 'out/R.html');
    const junit = join(dir, 'out/R.xml');
    const a = await run(['report', file, '--html', html, '--junit', junit]);
    expect(a).toMatchObject({ code: 0, out: '', err: '' });
    expect(await readFile(html, 'utf8')).toBe(formatHtmlReport(REPORT));
    expect(await readFile(junit, 'utf8')).toBe(formatJUnit(REPORT));
    expect((await run(['report', file, '--markdown'])).out).toBe(formatMarkdownSummary(REPORT));
    expect((await run(['report', file, '--text'])).out).toBe(formatTextSummary(REPORT));
    expect((await run(['report', file])).out).toBe(formatTextSummary(REPORT));
  });

  it('exits 0 whatever the verdict of the run it renders', async () => {
    const dir = await tempDir();
    const file = join(dir, 'fail.json');
    const failed = buildLoadReport(sampleResult(), parseGates(['p99<=1ms']));
    expect(failed.verdict).toBe('fail');
    await writeFile(file, formatJsonReport(failed));
    const r = await run(['report', file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('bugzapp load: FAIL');
  });

  it('judges a bare result (no gates) and reads a report without a timeline', async () => {
    const dir = await tempDir();
    const file = join(dir, 'result.json');
    await writeFile(file, JSON.stringify(sampleResult()));
    const r = await run(['report', file, '--markdown']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(formatMarkdownSummary(buildLoadReport(sampleResult())));
  });

  it('a missing file, non-JSON, or the wrong JSON: exit 2 naming the file and what is wrong', async () => {
    const dir = await tempDir();
    const missing = await run(['report', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read .*nope\.json: ENOENT/);

    const notJson = join(dir, 'x.json');
    await writeFile(notJson, '{"verdict": ');
    const a = await run(['report', notJson]);
    expect(a.code).toBe(2);
    expect(a.err).toContain('x.json');
    expect(a.err).toContain('ERR_LOADTEST_REPORT');

    const wrong = join(dir, 'w.json');
    const broken = JSON.parse(formatJsonReport(REPORT)) as Record<string, unknown>;
    delete (broken.delivery as Record<string, unknown>).byType;
    await writeFile(wrong, JSON.stringify(broken));
    const b = await run(['report', wrong, '--html', join(dir, 'w.html')]);
    expect(b.code).toBe(2);
    expect(b.err).toContain('delivery.byType.bug_report.events is missing');
    await expect(readFile(join(dir, 'w.html'))).rejects.toThrow(/ENOENT/);

    const other = join(dir, 'o.json');
    await writeFile(other, JSON.stringify({ ...JSON.parse(formatJsonReport(REPORT)), tool: 'k6' }));
    expect((await run(['report', other])).err).toContain('tool "k6"');
  });

  it('flag errors name the flag', async () => {
    const dir = await tempDir();
    const file = join(dir, 'R.json');
    await writeFile(file, formatJsonReport(REPORT));
    const both = await run(['report', file, '--markdown', '--text']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('--markdown');
    const noArg = await run(['report']);
    expect(noArg.code).toBe(2);
  });

  it('parseLoadReport reads back what formatJsonReport wrote', () => {
    expect(parseLoadReport(formatJsonReport(REPORT))).toEqual(JSON.parse(formatJsonReport(REPORT)));
    expect(() => parseLoadReport('[]')).toThrow(/expected a JSON object/);
    expect(() => parseLoadReport(JSON.stringify({ ...REPORT, schemaVersion: 2 }))).toThrow(/schemaVersion 2/);
    expect(() => parseLoadReport(JSON.stringify({ ...REPORT, timeline: [{ t: 'x' }] }))).toThrow(/timeline\[0\]/);
  });
});
