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
