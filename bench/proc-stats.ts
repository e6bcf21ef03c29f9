// CPU time and RSS of another process, read from /proc (Linux), so servers need no bench hooks.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface ProcSample {
  /** user + system CPU time, ms */
  cpuMs: number;
  /** resident set size, bytes */
  rssBytes: number;
  /** when sampled, performance.now() ms */
  at: number;
}

export function sampleProcess(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces; fields after the closing paren are fixed
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuMs: ((utime + stime) * 1000) / clockTicks(), rssBytes: rssKb * 1024, at: performance.now() };
}

/** CPU used between two samples, ms, and the share of one core it represents. */
export function cpuBetween(a: ProcSample, b: ProcSample): { cpuMs: number; coreShare: number } {
  const cpuMs = b.cpuMs - a.cpuMs;
  const wall = b.at - a.at;
  return { cpuMs, coreShare: wall > 0 ? cpuMs / wall : 0 };
}

export interface MachineSample {
  /** busy and total CPU time over all cores, ms */
  busyMs: number;
  totalMs: number;
  at: number;
}

/** Whole-machine CPU from /proc/stat, to tell how much other processes took during a measurement. */
export function sampleMachine(): MachineSample {
  const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const f = first.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const k = 1000 / clockTicks();
  return { busyMs: (total - idle) * k, totalMs: total * k, at: performance.now() };
}

/** Cores busy on average between two samples (0..number of cores). */
export function machineBusyCores(a: MachineSample, b: MachineSample): number {
  const wall = b.at - a.at;
  return wall > 0 ? (b.busyMs - a.busyMs) / wall : 0;
}
