// `bugzapp report FILE.json`: renders a saved load report again (a CI artifact looked at later) with the
// same renderers `bugzapp load` uses: --html FILE, --junit FILE, --markdown or --text on stdout.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Command } from 'commander';
import { InvalidOptionError, isBugzappError } from '../../errors.ts';
import { parseLoadReport, type LoadReport } from '../../loadtest/report-json.ts';
import { formatHtmlReport } from '../../loadtest/report-html.ts';
import { formatJUnit } from '../../loadtest/report-junit.ts';
import { formatMarkdownSummary } from '../../loadtest/report-markdown.ts';
import { formatTextSummary } from '../../loadtest/report-text.ts';
import { CliExit, type CliIO } from '../io.ts';

export interface ReportFlags {
  html?: string;
  junit?: string;
  markdown?: boolean;
  text?: boolean;
}

const EXIT_USAGE = 2;

export function registerReportCommand(program: Command, io: CliIO): void {
  program
    .command('report')
    .description('Render a saved JSON report of `bugzapp load` again: an HTML page, JUnit XML, Markdown or the text summary.')
    .argument('<file>', 'a JSON report written by `bugzapp load --report` (or `--json`)')
    .option('--html <file>', 'write the self-contained HTML page')
    .option('--junit <file>', 'write JUnit XML, one test case per gate and per check')
    .option('--markdown', 'print the Markdown summary on stdout')
    .option('--text', 'print the text summary on stdout (the default when nothing else is asked for)')
    .addHelpText(
      'after',
      `
Examples:
  $ bugzapp report R.json --html R.html
  $ bugzapp report R.json --markdown >> "$GITHUB_STEP_SUMMARY"
  $ bugzapp report R.json --junit load.xml --text
Exit: 0 rendered (whatever the run's verdict), 2 the file is missing, unreadable or not a load report.`,
    )
    .action(async (file: string, flags: ReportFlags) => {
      await runReportCommand(file, flags, io);
    });
}

export async function runReportCommand(file: string, flags: ReportFlags, io: CliIO): Promise<void> {
  if (flags.html !== undefined && flags.html.trim() === '') throw new InvalidOptionError('--html', 'expected a file path');
  if (flags.junit !== undefined && flags.junit.trim() === '') throw new InvalidOptionError('--junit', 'expected a file path');
  if (flags.markdown && flags.text) throw new InvalidOptionError('--markdown', 'give either --markdown or --text (both print on stdout)');
  let report: LoadReport;
  try {
    report = parseLoadReport(await readFile(file, 'utf8'));
  } catch (err) {
    if (isBugzappError(err)) throw new CliExit(EXIT_USAGE, `error: ${file}: ${err.message} (${err.code})`);
    throw new CliExit(EXIT_USAGE, `error: cannot read ${file}: ${(err as Error).message}`);
  }
  const write = async (what: string, path: string, text: string): Promise<void> => {
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    } catch (err) {
      throw new CliExit(EXIT_USAGE, `error: cannot write the ${what} to ${path}: ${(err as Error).message}`);
    }
  };
  if (flags.html !== undefined) await write('HTML report', flags.html, formatHtmlReport(report));
  if (flags.junit !== undefined) await write('JUnit report', flags.junit, formatJUnit(report));
  if (flags.markdown) io.stdout.write(formatMarkdownSummary(report));
  else if (flags.text || (flags.html === undefined && flags.junit === undefined)) io.stdout.write(formatTextSummary(report));
}
