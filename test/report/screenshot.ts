// Makes the README's screenshot of the HTML report, and is what the report's Chromium test runs too:
// a `bugzapp load` run (reference server started by bugzapp) writing R.json and R.html, then a
// screenshot of R.html in headless Chromium.
//   npx tsx test/report/screenshot.ts            # writes docs/report-screenshot.png
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { captureIO } from '../helpers/cli.ts';
import { runCli } from '../../src/cli/index.ts';
import { screenshot } from './chromium.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DOCS_SCREENSHOT = join(ROOT, 'docs/report-screenshot.png');
/** The run: 100 users, 200 events at 40/s. */
export const README_RUN = ['--users', '100', '--events', '200', '--rate', '40'];

export interface HtmlRun {
  code: number;
  json: string;
  html: string;
  out: string;
  err: string;
}

/** Runs `bugzapp load ARGS --report DIR/R.json --html DIR/R.html` in-process. */
export async function runLoadWithHtml(dir: string, args: string[]): Promise<HtmlRun> {
  const json = join(dir, 'R.json');
  const html = join(dir, 'R.html');
  const c = captureIO();
  const code = await runCli(['load', ...args, '--report', json, '--html', html], c.io);
  return { code, json, html, out: c.out(), err: c.err() };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bugzapp-screenshot-'));
  // a passing run makes the better picture; on a busy machine the generator may saturate (exit 3)
  let run = await runLoadWithHtml(dir, README_RUN);
  for (let attempt = 1; attempt < 3 && run.code === 3; attempt++) run = await runLoadWithHtml(dir, README_RUN);
  if (run.code !== 0 && run.code !== 3) throw new Error(`bugzapp load exited ${run.code}: ${run.err}`);
  const png = process.argv[2] ?? DOCS_SCREENSHOT;
  await screenshot(run.html, png, { width: 1280, height: 1000 });
  process.stdout.write(`${run.json}\n${run.html}\n${png}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
