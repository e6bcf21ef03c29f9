// The Done-when run, smaller: `bugzapp load --report R.json --html R.html` (reference server started by
// bugzapp). The timeline adds up; R.html loads nothing from anywhere, renders in headless Chromium with
// every chart laid out (the page's own mark, read with --dump-dom) and visibly drawn (series colours in
// the screenshot's pixels), light and dark; `bugzapp report R.json` renders the same page again.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { run } from '../helpers/cli.ts';
import type { LoadReport } from '../../src/loadtest/report-json.ts';
import { countColour, decodePng, dumpDom, externalReferences, pixel, screenshot } from './chromium.ts';
import { runLoadWithHtml } from './screenshot.ts';

describe('the HTML report of a real run', () => {
  it('adds up, loads nothing external, and draws its charts in Chromium', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bugzapp-html-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const r = await runLoadWithHtml(dir, ['--users', '20', '--events', '60', '--rate', '40', '--skip-rate-limit']);
    const report = JSON.parse(await readFile(r.json, 'utf8')) as LoadReport;
    // pass, or invalid when the shared machine starves the generator: the page is what is tested here
    expect([0, 3], r.err).toContain(r.code);
    expect(report.exitCode).toBe(r.code);
    expect(report.delivery.total.delivered).toBe(report.delivery.total.expected);
    const tl = report.timeline!;
    expect(tl.length).toBeGreaterThan(1);
    tl.forEach((e, i) => i > 0 && expect(e.t).toBe(tl[i - 1]!.t + 1));
    expect(tl.reduce((s, e) => s + e.fired, 0)).toBe(report.throughput.eventsFired);
    expect(tl.reduce((s, e) => s + e.delivered, 0)).toBe(report.delivery.total.delivered);
    for (const e of tl) if (e.p50Ms !== null && e.p99Ms !== null) expect(e.p99Ms).toBeGreaterThanOrEqual(e.p50Ms);

    const html = await readFile(r.html, 'utf8');
    expect(externalReferences(html)).toEqual([]);
    expect(html).not.toMatch(/\ssrc\s*=/i);

    // laid out by the browser: every chart's series has a size
    const dom = await dumpDom(r.html);
    expect(dom).toMatch(/<html[^>]* data-charts-drawn="5"/);
    expect(dom).toMatch(/<html[^>]* data-charts="5"/);

    // drawn: the series colours are on screen, in the light scheme and in the dark one
    const light = join(dir, 'light.png');
    await screenshot(r.html, light, { width: 1280, height: 1000 });
    const img = decodePng(await readFile(light));
    expect([img.width, img.height]).toEqual([1280, 1000]);
    expect(pixel(img, 2, 2)).toBe('#ffffff');
    expect(countColour(img, '#2563eb')).toBeGreaterThan(1000); // deliveries area edge, p50, connections
    expect(countColour(img, '#dc2626')).toBeGreaterThan(100); // p99
    const dark = join(dir, 'dark.png');
    await screenshot(r.html, dark, { width: 1280, height: 1000, dark: true });
    const dimg = decodePng(await readFile(dark));
    expect(pixel(dimg, 2, 2)).toBe('#0d1117');
    expect(countColour(dimg, '#58a6ff')).toBeGreaterThan(1000);

    // the saved JSON renders the same page and the same summary again
    const again = join(dir, 'again.html');
    const rep = await run(['report', r.json, '--html', again]);
    expect(rep.code, rep.err).toBe(0);
    expect(await readFile(again, 'utf8')).toBe(html);
    const text = await run(['report', r.json, '--text']);
    expect(text.out).toBe(r.out);
  });
});
