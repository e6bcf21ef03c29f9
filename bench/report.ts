// Formatting of bench results: a plain table for the terminal and a Markdown table for the README,
// both pure functions of the result objects.
import os from 'node:os';
import type { ServerCaseResult } from './cases/server.ts';
import type { LoadCaseResult } from './cases/load.ts';
import type { CliCaseResult } from './cases/cli.ts';
import type { RedisCaseResult } from './cases/redis.ts';
import type { StartupCaseResult, StartupFigures } from './cases/startup.ts';
import type { ShardsCaseResult } from './cases/shards.ts';
import type { FanoutResult, IdleResult } from './measure.ts';

export type CaseResult = ServerCaseResult | LoadCaseResult | CliCaseResult | RedisCaseResult | StartupCaseResult | ShardsCaseResult;

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  date: string;
  quick: boolean;
}

export function describeMachine(quick: boolean): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    date: new Date().toISOString(),
    quick,
  };
}

type Row = [string, ...string[]];

const int = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const ms = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(n < 10 ? 2 : 1)} ms`);
const x = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(2)}x`);
const us = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(2)} µs`);
const kib = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : `${(n / 1024).toFixed(1)} KiB`);
const pct = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : `${(n * 100).toFixed(0)}%`);

function arrivedCell(f: FanoutResult | undefined): string {
  if (!f) return '–';
  const base = `${int(f.received)} / ${int(f.expected)}`;
  if (f.allArrived) return `${base} (all)`;
  const parts = [];
  if (f.missing) parts.push(`${int(f.missing)} missing`);
  if (f.duplicates) parts.push(`${int(f.duplicates)} duplicates`);
  if (f.outOfOrder) parts.push(`${int(f.outOfOrder)} out of order`);
  if (f.posts.failed) parts.push(`${f.posts.failed} POSTs failed`);
  if (f.unexpectedCloses) parts.push(`${int(f.unexpectedCloses)} connections closed by the server`);
  return `${base} (${parts.join(', ') || 'incomplete'})`;
}

function clientCell(f: FanoutResult | undefined): string {
  if (!f) return '–';
  const cpu = Math.max(0, ...f.client.workers.map((w) => w.cpuShare));
  const lag = Math.max(0, ...f.client.workers.map((w) => w.lagP99Ms));
  return `${f.client.valid ? 'ok' : 'INVALID'}: ${f.client.processCores.toFixed(2)} cores, busiest worker ${pct(cpu)}, lag p99 ${ms(lag)}`;
}

/** Rows of a fan-out comparison: one column per target, then optional ratio columns. */
function fanoutRows(
  fanout: (FanoutResult | undefined)[],
  idle: (IdleResult | undefined)[],
  ratios?: (number | undefined)[],
): Row[] {
  const col = <T>(f: (v: T) => string, list: (T | undefined)[]): string[] => list.map((v) => (v === undefined ? '–' : f(v)));
  const withRatio = (cells: string[], r: number | undefined): string[] => (ratios ? [...cells, x(r)] : cells);
  const r = ratios ?? [];
  return [
    ['connections', ...withRatio(col((f: FanoutResult) => int(f.connections) + (f.connectFailed ? ` (${f.connectFailed} failed)` : ''), fanout), undefined)],
    ['broadcasts (201)', ...withRatio(col((f: FanoutResult) => `${f.posts.created} / ${f.posts.sent}`, fanout), undefined)],
    ['deliveries received / expected', ...withRatio(fanout.map(arrivedCell), undefined)],
    ['offered deliveries/s', ...withRatio(col((f: FanoutResult) => int(f.offeredPerSec), fanout), undefined)],
    ['achieved deliveries/s', ...withRatio(col((f: FanoutResult) => int(f.achievedPerSec), fanout), r[0])],
    ['POST-to-receipt p50', ...withRatio(col((f: FanoutResult) => ms(f.latency.p50Ms), fanout), r[1])],
    ['POST-to-receipt p99', ...withRatio(col((f: FanoutResult) => ms(f.latency.p99Ms), fanout), r[2])],
    ['POST-to-receipt p99.9 / max', ...withRatio(col((f: FanoutResult) => `${ms(f.latency.p999Ms)} / ${ms(f.latency.maxMs)}`, fanout), undefined)],
    ['server CPU (share of one core)', ...withRatio(col((f: FanoutResult) => pct(f.server.coreShare), fanout), undefined)],
    ['server CPU per delivery', ...withRatio(col((f: FanoutResult) => us(f.server.cpuPerDeliveryUs), fanout), r[3])],
    ['RSS per idle connection', ...withRatio(col((i: IdleResult) => `${kib(i.bytesPerConnection)} (${int(i.connections)} conns)`, idle), r[4])],
    ['client process', ...withRatio(fanout.map(clientCell), undefined)],
    ['other processes on the machine', ...withRatio(col((f: FanoutResult) => `${f.client.otherCores.toFixed(2)} cores`, fanout), undefined)],
  ];
}

function renderPlain(header: string[], rows: Row[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function renderMarkdown(header: string[], rows: Row[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

interface Table {
  title: string;
  header: string[];
  rows: Row[];
  notes: string[];
}

function serverTable(r: ServerCaseResult): Table {
  const order = ['baseline', 'ours', 'fastapi'] as const;
  const names = order.filter((n) => r.fanout.some((f) => f.target === n));
  const fanout = names.map((n) => r.fanout.find((f) => f.target === n));
  const idle = names.map((n) => r.idle.find((i) => i.target === n));
  const label: Record<string, string> = { baseline: 'baseline (bare ws)', ours: 'bugzapp serve', fastapi: 'FastAPI guide' };
  const hasRatio = r.ratios !== undefined;
  const header = ['', ...names.map((n) => label[n]!), ...(hasRatio ? ['ours / baseline'] : [])];
  // ratio column sits last; when fastapi is present it is still ours / baseline
  const ratioVals = r.ratios
    ? [r.ratios.achievedPerSec, r.ratios.p50, r.ratios.p99, r.ratios.cpuPerDelivery, r.ratios.bytesPerIdleConnection]
    : undefined;
  const rows = fanoutRows(fanout, idle, ratioVals);
  if (r.scenario.rounds > 1) {
    rows.splice(7, 0, [
      'p99 of each round',
      ...names.map((n) => (r.rounds[n] ?? []).map((f) => ms(f.latency.p99Ms)).join(', ')),
      ...(hasRatio ? ['–'] : []),
    ]);
  }
  const notes: string[] = [];
  if (r.bar) {
    notes.push(
      `Target: every event arrives and our p99 within ${r.bar.p99RatioLimit}x of a bare ws server's: ` +
        `${r.bar.pass ? 'PASS' : 'FAIL'}${r.bar.fullScenario ? '' : ' (a smaller scenario than the target\'s 4,000 connections at 20 broadcasts/s)'} (ratio ${x(r.bar.p99Ratio)}, all arrived: ${r.bar.allArrived ? 'yes' : 'no'}, client valid: ${r.bar.clientValid ? 'yes' : 'no'})`,
    );
  }
  if (r.versusFastApi) {
    notes.push(
      `Against the guide's FastAPI server: its p99 is ${x(1 / r.versusFastApi.p99)} ours; ours delivers ${x(r.versusFastApi.achievedPerSec)} its deliveries/s`,
    );
  }
  for (const f of r.fanout) if (!f.client.valid) notes.push(`${f.target}: results INVALID: ${f.client.reasons.join('; ')}`);
  for (const s of r.skipped) notes.push(`${s.target} ${s.phase} skipped: ${s.reason.split('\n')[0]}`);
  return {
    title:
      `Fan-out: ${int(r.scenario.connections)} connections, ${r.scenario.rate} broadcasts/s, ${r.scenario.broadcasts} broadcasts (+${r.scenario.warmup} warm-up)` +
      `${r.scenario.rounds > 1 ? `, median-p99 of ${r.scenario.rounds} rounds` : ''}; idle RSS at ${int(r.scenario.idleConnections)} connections`,
    header,
    rows,
    notes,
  };
}

function loadTable(r: LoadCaseResult): Table {
  const rows: Row[] = r.result
    ? [
        ['connections', int(r.result.connections)],
        ['offered deliveries/s', int(r.result.offeredPerSec)],
        ['verified deliveries/s', int(r.result.verifiedPerSec)],
        ['delivery', r.result.deliveryText],
        ['p99', ms(r.result.p99Ms)],
        ['generator', r.result.generatorText],
        ['baseline server CPU (whole run)', pct(r.result.serverCoreShare)],
        ['other processes on the machine', `${r.result.otherCores.toFixed(2)} cores`],
      ]
    : [];
  const notes = [...r.notes];
  if (r.bar) {
    notes.push(
      `Target: bugzapp load verifies >= ${int(r.bar.limit)} deliveries/s: ` +
        (r.bar.judged ? (r.bar.pass ? 'PASS' : 'FAIL') : `not judged (less than that offered; run without --quick)`) +
        (r.bar.judged && r.result?.saturated ? ' (verified while the generator was saturated: its latency figures are not the server\'s)' : ''),
    );
  }
  return { title: `bugzapp load against the baseline: ${int(r.scenario.connections)} connections, ${r.scenario.rate} broadcasts/s`, header: ['', 'bugzapp load'], rows, notes };
}

function cliTable(r: CliCaseResult): Table {
  const c = r.cli;
  const b = r.bare;
  const rows: Row[] = [
    ['connections', int(c?.connections), int(b?.connections)],
    ['verified deliveries/s', int(c?.verifiedPerSec), int(b?.achievedPerSec)],
    ['delivered / expected', c ? `${int(c.delivered)} / ${int(c.expected)} (missing ${c.missing}, dup ${c.duplicated})` : '–', b ? `${int(b.received)} / ${int(b.expected)} (missing ${b.missing}, dup ${b.duplicates})` : '–'],
    ['broadcast p99', ms(c?.broadcastP99Ms), ms(b?.latency.p99Ms)],
    ['generator CPU per verified delivery', c ? `${c.cpuUsPerDelivery.toFixed(1)} µs` : '–', b ? `${b.cpuUsPerDelivery.toFixed(1)} µs` : '–'],
    ['peak RSS', c ? `${c.peakRssMiB.toFixed(0)} MiB` : '–', b ? `${b.peakRssMiB.toFixed(0)} MiB` : '–'],
    ['generator lag p99 / valid', c ? `${ms(c.lagP99Ms)} / ${c.saturated ? 'SATURATED' : 'valid'} (${c.workers} worker${c.workers === 1 ? '' : 's'})` : '–', b ? (b.client.valid ? 'valid' : `INVALID: ${b.client.reasons[0] ?? ''}`) : '–'],
  ];
  if (r.memory) {
    rows.push([`RSS per connection at ${int(r.memory.connections)}`, `${r.memory.perConnectionKiB.toFixed(1)} KiB`, '–']);
    rows.push(['base RSS (2 connections, no terminal view)', `${r.memory.baseRssMiB.toFixed(0)} MiB`, '–']);
  }
  const notes = [...r.notes];
  if (c) notes.push(`CLI: bugzapp ${c.args.map((a) => (a.startsWith('http') ? 'URL' : a)).join(' ')}`);
  return {
    title: `bugzapp load (the CLI) beside the bare receiver, against the baseline: ${int(r.scenario.connections)} connections, ${r.scenario.events} broadcasts at ${r.scenario.rate}/s`,
    header: ['', 'bugzapp load (CLI)', 'bare receiver'],
    rows,
    notes,
  };
}

function redisTable(r: RedisCaseResult): Table {
  const names = ['memory', 'redis'] as const;
  const fanout = names.map((n) => r.fanout.find((f) => f.target === n));
  const rows = fanoutRows(fanout, [undefined, undefined], r.ratios ? [r.ratios.achievedPerSec, r.ratios.p50, r.ratios.p99, r.ratios.cpuPerDelivery, undefined] : undefined)
    .filter((row) => row[0] !== 'RSS per idle connection');
  const redisCpu = r.fanout.find((f) => f.target === 'redis')?.support;
  if (redisCpu) rows.push(['redis-server CPU (share of one core)', '–', pct(redisCpu.coreShare), ...(r.ratios ? ['–'] : [])]);
  const notes = [...r.notes];
  if (r.bar) {
    notes.push(
      `Target: two instances on Redis deliver >= ${pct(r.bar.limit)} of one in-memory instance, every event exactly once: ` +
        `${r.bar.pass ? 'PASS' : 'FAIL'} (${pct(r.bar.ratio)}, all arrived: ${r.bar.allArrived ? 'yes' : 'no'})`,
    );
  }
  for (const s of r.skipped) notes.push(`${s.target} skipped: ${s.reason.split('\n')[0]}`);
  return {
    title: `Redis: two \`serve --redis\` instances vs one in-memory, ${int(r.scenario.connections)} connections, ${r.scenario.rate} broadcasts/s`,
    header: ['', 'one instance, in-memory', 'two instances, Redis', ...(r.ratios ? ['redis / memory'] : [])],
    rows,
    notes,
  };
}

function startupTable(r: StartupCaseResult): Table {
  const cells = (f: StartupFigures | undefined): string[] => (f ? [ms(f.medianMs), ms(f.p90Ms), ms(f.maxMs)] : ['–', '–', '–']);
  const notes = [...r.notes];
  if (r.bar && r.version) {
    notes.push(`Target: \`bugzapp --version\` within ${r.bar.limitMs} ms (median): ${r.bar.pass ? 'PASS' : 'FAIL'} (${ms(r.version.medianMs)})`);
  }
  return {
    title: `Start-up: process start to exit, ${r.version?.runs ?? 0} runs each after one that fills the compile cache`,
    header: ['', 'median', 'p90', 'max'],
    rows: r.version ? [['node bin/bugzapp.js --version', ...cells(r.version)], ['node -e 0 (for scale)', ...cells(r.bareNode)]] : [],
    notes,
  };
}

function shardsTable(r: ShardsCaseResult): Table {
  const s = r.scenario;
  return {
    title: `Sharded load: one process vs ${s.shards} local shards on the same work, ${int(s.users)} users, ${int(s.events)} operations at ${s.rate}/s`,
    header: ['', 'verdict (exit)', 'delivered / expected', 'deliveries/s', 'broadcast p99', 'generator lag p99', 'wall time'],
    rows: r.runs.map((x) => [
      x.label,
      `${x.verdict} (${x.exitCodes.join(',')})`,
      `${int(x.delivered)} / ${int(x.expected)}`,
      int(x.deliveriesPerSec),
      ms(x.broadcastP99Ms),
      ms(x.generatorLagP99Ms),
      ms(x.wallMs),
    ]),
    notes: [...r.notes, 'On one machine the shards share its cores with each other and the server: this is what sharding costs, not what N machines gain.'],
  };
}

function tableOf(r: CaseResult): Table {
  switch (r.case) {
    case 'server':
      return serverTable(r);
    case 'cli':
      return cliTable(r);
    case 'load':
      return loadTable(r);
    case 'redis':
      return redisTable(r);
    case 'startup':
      return startupTable(r);
    case 'shards':
      return shardsTable(r);
  }
}

function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, ${m.date}${m.quick ? ' (--quick)' : ''}`;
}

export function formatPlain(results: CaseResult[], machine: Machine): string {
  const out = [`Machine: ${machineLine(machine)}`, ''];
  for (const r of results) {
    const t = tableOf(r);
    out.push(t.title, '');
    if (t.rows.length) out.push(renderPlain(t.header, t.rows), '');
    for (const n of t.notes) out.push(`* ${n}`);
    out.push('');
  }
  return out.join('\n');
}

export function formatMarkdown(results: CaseResult[], machine: Machine): string {
  const out = [`Measured with \`npm run bench\` on ${machineLine(machine)}.`, ''];
  for (const r of results) {
    const t = tableOf(r);
    out.push(`**${t.title}**`, '');
    if (t.rows.length) out.push(renderMarkdown(t.header, t.rows), '');
    for (const n of t.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}
