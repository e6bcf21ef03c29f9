// `bugzapp fire`: the REST calls of protocol.md section 7 from a terminal, so that a developer can make
// the server push events while `bugzapp listen` shows what a user receives.
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
// the REST client (undici) loads when a command runs, so that start-up stays quick
import type { RestClient } from '../../client/index.ts';
import { resolveHttpBase } from '../../client/url.ts';
import { HttpStatusError, InvalidOptionError, formatDetail } from '../../errors.ts';
import {
  DEV_SECRET,
  SEVERITIES,
  STATUSES,
  mintTokenSync,
  type BugReportCreate,
  type BugReportPatch,
  type Severity,
  type Status,
} from '../../protocol/index.ts';
import { CliExit, type CliIO } from '../io.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8000';
export const DEFAULT_FIRE_USER = 'reporter-1';

/** The flags every client-side command shares: where the server is and how to authenticate. */
export interface TargetFlags {
  url?: string;
  secret?: string;
  token?: string;
}

export interface Target {
  url: string;
  /** A fixed token (`--token`), or undefined when tokens are minted. */
  token: string | undefined;
  secret: string;
  issuer: string | undefined;
  audience: string | undefined;
}

/** Flags, then env (BUGZAPP_URL, BUGZAPP_JWT_SECRET, ...), then defaults; errors name the flag. */
export function resolveTarget(flags: TargetFlags, env: Record<string, string | undefined>): Target {
  const url = flags.url ?? (env.BUGZAPP_URL || DEFAULT_URL);
  try {
    resolveHttpBase(url);
  } catch {
    throw new InvalidOptionError('--url', `expected an http(s):// or ws(s):// URL, got '${url}'${flags.url ? '' : ' from BUGZAPP_URL'}`);
  }
  if (flags.token !== undefined && flags.secret !== undefined) {
    throw new InvalidOptionError('--token', 'cannot be combined with --secret');
  }
  if (flags.token !== undefined && flags.token.trim() === '') throw new InvalidOptionError('--token', 'must not be empty');
  if (flags.secret !== undefined && flags.secret === '') throw new InvalidOptionError('--secret', 'must not be empty');
  return {
    url,
    token: flags.token,
    secret: flags.secret ?? (env.BUGZAPP_JWT_SECRET || DEV_SECRET),
    issuer: env.BUGZAPP_JWT_ISSUER || undefined,
    audience: env.BUGZAPP_JWT_AUDIENCE || undefined,
  };
}

/** A token for `user`: the fixed --token, or freshly minted (1 h) with the target's secret. */
export function tokenFor(target: Target, user: string): string {
  if (target.token !== undefined) return target.token;
  return mintTokenSync({
    userId: user,
    secret: target.secret,
    ...(target.issuer ? { issuer: target.issuer } : {}),
    ...(target.audience ? { audience: target.audience } : {}),
  });
}

export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', `server base URL [env BUGZAPP_URL] (default ${DEFAULT_URL})`)
    .option('--secret <secret>', 'HS256 secret to mint tokens with [env BUGZAPP_JWT_SECRET] (default: the dev secret)')
    .option('--token <jwt>', 'use this token as is instead of minting one');
}

interface FireFlags extends TargetFlags {
  as?: string;
}

interface BugReportFlags extends FireFlags {
  title?: string;
  assignee?: string;
  severity?: string;
  description?: string;
  from?: string;
  array?: boolean;
}

interface UpdateFlags extends FireFlags {
  title?: string;
  assignee?: string;
  severity?: string;
  description?: string;
  status?: string;
}

interface CommentFlags extends FireFlags {
  body: string;
}

function parseId(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new InvalidOptionError('<id>', `expected a positive integer, got '${text}'`);
  }
  return Number(text);
}

function parseSeverity(text: string): Severity {
  if (!(SEVERITIES as readonly string[]).includes(text)) {
    throw new InvalidOptionError('--severity', `expected one of ${SEVERITIES.join(', ')}, got '${text}'`);
  }
  return text as Severity;
}

function parseStatus(text: string): Status {
  if (!(STATUSES as readonly string[]).includes(text)) {
    throw new InvalidOptionError('--status', `expected one of ${STATUSES.join(', ')}, got '${text}'`);
  }
  return text as Status;
}

/** `--assignee none` (or '') unassigns; anything else is a user id. */
function parseAssignee(text: string): string | null {
  return text === '' || text === 'none' ? null : text;
}

/** The sample reports of a --from file: a JSON array of BugReportCreate objects. */
export async function readBugReportFile(path: string): Promise<BugReportCreate[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidOptionError('--from', `cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidOptionError('--from', `${path} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) || value.some((v) => v === null || typeof v !== 'object' || Array.isArray(v))) {
    throw new InvalidOptionError('--from', `${path} must hold a JSON array of bug report objects`);
  }
  return value as BugReportCreate[];
}

/** Run one REST call; a non-2xx answer prints the server's detail and exits 1. */
async function call<T>(rest: RestClient, fn: (rest: RestClient) => Promise<T>): Promise<T> {
  try {
    return await fn(rest);
  } catch (err) {
    if (err instanceof HttpStatusError) throw new CliExit(1, `error: HTTP ${err.status}: ${formatDetail(err.detail)}`);
    throw err;
  } finally {
    await rest.close();
  }
}

async function restFor(flags: FireFlags, io: CliIO): Promise<RestClient> {
  const target = resolveTarget(flags, io.env);
  const user = flags.as ?? DEFAULT_FIRE_USER;
  if (user.trim() === '') throw new InvalidOptionError('--as', 'must not be empty');
  const { createRestClient } = await import('../../client/rest.ts');
  return createRestClient({ url: target.url, tokenProvider: () => tokenFor(target, user) });
}

function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function sub(parent: Command, io: CliIO, name: string): Command {
  const cmd = parent
    .command(name)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  addTargetOptions(cmd).option('--as <user>', `user the bearer token is minted for (default ${DEFAULT_FIRE_USER})`);
  return cmd;
}

export function registerFireCommand(program: Command, io: CliIO): void {
  const fire = program
    .command('fire')
    .description('Call the REST API (create, update, delete bug reports, comment) to make the server push events.')
    .addHelpText(
      'after',
      `
Examples:
  $ bugzapp fire bug-report --title "Crash on login" --assignee 42 --severity high
  $ bugzapp fire bug-report --from fixtures/bug-reports.json       # one NDJSON line per created report
  $ bugzapp fire update 7 --status resolved --assignee 7
  $ bugzapp fire comment 7 --body "Fixed in 1.2.3" --as 42
  $ bugzapp fire delete 7
Each prints the resource the server returned as JSON; a 4xx/5xx prints the server's detail and exits 1.`,
    );

  sub(fire, io, 'bug-report')
    .description('POST /bug-reports/: create a bug report (pushes bug_report created, and a notification to the assignee)')
    .option('--title <title>', 'title (1..200 characters); required unless --from')
    .option('--assignee <user>', 'assignee user id')
    .option('--severity <severity>', SEVERITIES.join('|'))
    .option('--description <text>', 'description')
    .option('--from <file>', 'create every report of a JSON array file (e.g. fixtures/bug-reports.json)')
    .option('--array', 'with --from: print one JSON array instead of NDJSON lines')
    .action(async (flags: BugReportFlags) => {
      if (flags.from !== undefined) {
        for (const f of ['title', 'assignee', 'severity', 'description'] as const) {
          if (flags[f] !== undefined) throw new InvalidOptionError(`--${f}`, 'cannot be combined with --from');
        }
        const reports = await readBugReportFile(flags.from);
        const rest = await restFor(flags, io);
        const results: unknown[] = [];
        let failed = 0;
        try {
          for (const [i, body] of reports.entries()) {
            try {
              const created = await rest.createBugReport(body);
              if (flags.array) results.push(created);
              else io.stdout.write(`${JSON.stringify(created)}\n`);
            } catch (err) {
              if (!(err instanceof HttpStatusError)) throw err;
              failed++;
              io.stderr.write(`error: report ${i} (${JSON.stringify(body.title)}): HTTP ${err.status}: ${formatDetail(err.detail)}\n`);
            }
          }
        } finally {
          await rest.close();
        }
        if (flags.array) printJson(io, results);
        if (failed > 0) throw new CliExit(1, `error: ${failed} of ${reports.length} reports failed`);
        return;
      }
      if (flags.array) throw new InvalidOptionError('--array', 'only applies with --from');
      if (flags.title === undefined) throw new InvalidOptionError('--title', 'required (or give --from <file>)');
      const body: BugReportCreate = { title: flags.title };
      if (flags.description !== undefined) body.description = flags.description;
      if (flags.severity !== undefined) body.severity = parseSeverity(flags.severity);
      if (flags.assignee !== undefined) body.assignee_id = parseAssignee(flags.assignee);
      const rest = await restFor(flags, io);
      printJson(io, await call(rest, (r) => r.createBugReport(body)));
    });

  sub(fire, io, 'update')
    .description('PATCH /bug-reports/{id}: change a bug report (pushes bug_report updated)')
    .argument('<id>', 'bug report id')
    .option('--title <title>', 'new title')
    .option('--status <status>', STATUSES.join('|'))
    .option('--assignee <user>', 'new assignee user id (none to unassign)')
    .option('--severity <severity>', SEVERITIES.join('|'))
    .option('--description <text>', 'new description')
    .action(async (idText: string, flags: UpdateFlags) => {
      const id = parseId(idText);
      const patch: BugReportPatch = {};
      if (flags.title !== undefined) patch.title = flags.title;
      if (flags.description !== undefined) patch.description = flags.description;
      if (flags.severity !== undefined) patch.severity = parseSeverity(flags.severity);
      if (flags.status !== undefined) patch.status = parseStatus(flags.status);
      if (flags.assignee !== undefined) patch.assignee_id = parseAssignee(flags.assignee);
      if (Object.keys(patch).length === 0) {
        throw new InvalidOptionError('--status', 'give at least one of --status, --assignee, --title, --severity, --description');
      }
      const rest = await restFor(flags, io);
      printJson(io, await call(rest, (r) => r.updateBugReport(id, patch)));
    });

  sub(fire, io, 'delete')
    .description('DELETE /bug-reports/{id} (pushes bug_report deleted)')
    .argument('<id>', 'bug report id')
    .action(async (idText: string, flags: FireFlags) => {
      const id = parseId(idText);
      const rest = await restFor(flags, io);
      await call(rest, (r) => r.deleteBugReport(id));
      printJson(io, { id, deleted: true });
    });

  sub(fire, io, 'comment')
    .description('POST /bug-reports/{id}/comments/: comment (pushes comment created, and a notification to the assignee)')
    .argument('<id>', 'bug report id')
    .requiredOption('--body <text>', 'comment text (1..10000 characters)')
    .action(async (idText: string, flags: CommentFlags) => {
      const id = parseId(idText);
      const rest = await restFor(flags, io);
      printJson(io, await call(rest, (r) => r.createComment(id, { body: flags.body })));
    });
}
