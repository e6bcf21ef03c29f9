// `npm run bench [-- --quick] [--case server,load,redis]`: runs the benchmark cases, prints a table,
// writes bench/results/latest.json and latest.md (the Markdown table for the README).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_SECRET } from '../src/protocol/index.ts';
import { loopbackSources } from './client-pool.ts';
import { runServerCase, type TargetName } from './cases/server.ts';
import { runLoadCase } from './cases/load.ts';
import { runCliCase } from './cases/cli.ts';
import { runRedisCase } from './cases/redis.ts';
import { runStartupCase } from './cases/startup.ts';
import { runShardsCase } from './cases/shards.ts';
import { describeMachine, formatMarkdown, formatPlain, type CaseResult, type Machine } from './report.ts';

const CASES = ['server', 'load', 'cli', 'redis', 'startup', 'shards'] as const;
type CaseName = (typeof CASES)[number];
const TARGETS: readonly TargetName[] = ['baseline', 'ours', 'fastapi'];

const HELP = `Usage: npm run bench -- [options]

  --quick                 a short run (1,000 connections, 4 s) to check the harness
  --case <names>          comma-separated, repeatable: server (default), load, cli, redis, startup, shards, all
  --targets <names>       server case targets: baseline,ours[,fastapi] (default baseline,ours,fastapi)
  --connections <n>       receiving connections (default 4000)
  --rate <n>              broadcasts per second (default 20; load case 40)
  --duration <s>          seconds of measured broadcasts (default 12)
  --events <n>            cli case: broadcasts (--events of bugzapp load; default 200)
  --idle-connections <n>  connections for RSS per idle connection (default 10000; 0 skips)
  --workers <n>           client worker threads (default 2)
  --rounds <n>            fan-out rounds per server, alternating order; the median-p99 round is shown (default 1)
  --client raw|ws         receiving client: the bench's lean one (default) or the ws library's
  --sources <n>           loopback source addresses 127.0.0.2.. rotated over connections (default 8)
  --render <file>         re-print the tables of a saved latest.json without measuring
  --out <dir>             results directory (default bench/results)
  -h, --help

Examples:
  npm run bench -- --quick
  npm run bench -- --case server --targets baseline,ours
  npm run bench -- --case load,redis
  npm run bench -- --case startup
  npm run bench -- --case cli                  # bugzapp load (CLI) beside the bare receiver, 4,000 conns, 40/s
`;

/** A bad flag: printed as one line, exit code 2. */
class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: expected an integer >= ${min}, got "${raw}"`);
  return n;
}

function listOf<T extends string>(name: string, raw: string[] | undefined, allowed: readonly T[], fallback: T[]): T[] {
  if (!raw || raw.length === 0) return fallback;
  const names = raw.flatMap((r) => r.split(',')).map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return [...allowed];
  for (const n of names) if (!(allowed as readonly string[]).includes(n)) throw new UsageError(`--${name}: unknown "${n}" (expected ${allowed.join(', ')})`);
  return [...new Set(names)] as T[];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      case: { type: 'string', multiple: true },
      targets: { type: 'string', multiple: true },
      connections: { type: 'string' },
      rate: { type: 'string' },
      events: { type: 'string' },
      duration: { type: 'string' },
      'idle-connections': { type: 'string' },
      workers: { type: 'string' },
      sources: { type: 'string' },
      client: { type: 'string' },
      rounds: { type: 'string' },
      render: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.render) {
    const saved = JSON.parse(readFileSync(values.render, 'utf8')) as { machine: Machine; results: CaseResult[] };
    process.stdout.write(`${formatPlain(saved.results, saved.machine)}\n${formatMarkdown(saved.results, saved.machine)}`);
    return 0;
  }
  const quick = values.quick;
  const cases = listOf('case', values.case, CASES, ['server']);
  const targets = listOf('targets', values.targets, TARGETS, ['baseline', 'ours', 'fastapi']);
  const connections = positiveInt('connections', values.connections, quick ? 1000 : 4000);
  const durationS = positiveInt('duration', values.duration, quick ? 4 : 12);
  const idleConnections = positiveInt('idle-connections', values['idle-connections'], quick ? 2000 : 10_000, 0);
  const workers = positiveInt('workers', values.workers, 2);
  const sources = positiveInt('sources', values.sources, 8, 0);
  const client = listOf('client', values.client ? [values.client] : undefined, ['raw', 'ws'] as const, ['raw'])[0]!;
  const outDir = resolve(values.out ?? fileURLToPath(new URL('./results/', import.meta.url)));

  const fdLimit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);
  const needFds = Math.max(connections, idleConnections) + 1000;
  if (needFds > fdLimit) {
    process.stderr.write(
      `[bench] warning: ${needFds} file descriptors needed, the limit is ${fdLimit}: raise it (ulimit -n ${needFds}) or lower --connections/--idle-connections\n`,
    );
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('stopping after the current measurement (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const common = {
    secret: process.env.BUGZAPP_JWT_SECRET ?? DEV_SECRET,
    workers,
    client,
    localAddresses: sources > 0 ? loopbackSources(sources) : [],
    signal: controller.signal,
    log: (line: string) => process.stderr.write(`[bench] ${line}\n`),
  };
  const results: CaseResult[] = [];
  for (const c of cases) {
    if (controller.signal.aborted) break;
    switch (c) {
      case 'server': {
        const rate = positiveInt('rate', values.rate, 20);
        results.push(
          await runServerCase({
            ...common,
            targets,
            connections,
            rate,
            count: rate * durationS,
            warmup: rate,
            drainTimeoutMs: 15_000,
            rounds: positiveInt('rounds', values.rounds, 1),
            idleConnections,
            idleSettleMs: quick ? 500 : 2000,
          }),
        );
        break;
      }
      case 'load': {
        const rate = positiveInt('rate', values.rate, 40);
        results.push(
          await runLoadCase({ ...common, connections, rate, durationMs: durationS * 1000, drainTimeoutMs: 15_000 }),
        );
        break;
      }
      case 'cli': {
        // the CLI's own configuration: --users N/2 --conns-per-user 2 --events 200 --rate 40 --mix bug_report:100
        const rate = positiveInt('rate', values.rate, 40);
        results.push(
          await runCliCase({
            ...common,
            users: Math.ceil(connections / 2),
            rate,
            events: positiveInt('events', values.events, quick ? rate * durationS : 200),
            rssConnections: idleConnections,
          }),
        );
        break;
      }
      case 'redis': {
        const rate = positiveInt('rate', values.rate, 20);
        results.push(
          await runRedisCase({ ...common, connections, rate, count: rate * durationS, warmup: rate, drainTimeoutMs: 15_000 }),
        );
        break;
      }
      case 'startup':
        results.push(runStartupCase({ runs: quick ? 5 : 20, log: common.log }));
        break;
      case 'shards': {
        // the same total work as one process and as 3 shards (dist/ runs both: npm run build first)
        const users = quick ? 300 : 1500;
        results.push(await runShardsCase({ secret: common.secret, users, events: quick ? 150 : 600, rate: positiveInt('rate', values.rate, 30), shards: 3, log: common.log }));
        break;
      }
    }
  }
  const machine = describeMachine(quick);
  const plain = formatPlain(results, machine);
  const markdown = formatMarkdown(results, machine);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify({ machine, results }, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.md'), markdown);
  process.stdout.write(`\n${plain}\nMarkdown for the README (also in ${join(outDir, 'latest.md')}):\n\n${markdown}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error: ${(err as Error).message}\n(npm run bench -- --help for usage)\n`);
      process.exit(2);
    }
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
