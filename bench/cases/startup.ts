// Case `startup`: how long `bugzapp --version` takes from process start to exit, the way an installed
// package runs it (node bin/bugzapp.js, which loads the compiled dist/; not npx, which adds npm's own
// start-up), beside a bare `node -e 0` on the same Node for scale. dist/ is rebuilt first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildDist } from '../build.ts';
import { REPO_ROOT } from '../server-process.ts';

export interface StartupCaseOptions {
  /** Timed runs of each command (after one untimed run that fills the compile cache). */
  runs: number;
  log: (line: string) => void;
}

export interface StartupFigures {
  runs: number;
  medianMs: number;
  p90Ms: number;
  maxMs: number;
}

export interface StartupCaseResult {
  case: 'startup';
  version?: StartupFigures;
  bareNode?: StartupFigures;
  /** `bugzapp --version` within 300 ms (median) on this machine */
  bar?: { limitMs: number; pass: boolean };
  notes: string[];
}

export const STARTUP_LIMIT_MS = 300;

function timeRuns(args: string[], runs: number, env: NodeJS.ProcessEnv): StartupFigures {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const res = spawnSync(process.execPath, args, { cwd: REPO_ROOT, env, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (res.status !== 0) throw new Error(`node ${args.join(' ')} exited ${res.status ?? res.signal}: ${res.stderr}`);
    if (i > 0) times.push(ms); // the first run fills V8's compile cache, as a user's first run does
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { runs, medianMs: at(0.5), p90Ms: at(0.9), maxMs: times[times.length - 1]! };
}

export function runStartupCase(options: StartupCaseOptions): StartupCaseResult {
  const out: StartupCaseResult = { case: 'startup', notes: [] };
  const buildError = buildDist(options.log, 'startup');
  if (buildError !== undefined) {
    out.notes.push(`skipped: the build failed: ${buildError}`);
    return out;
  }
  // a compile cache of its own, so that an earlier run of another build does not flatter this one
  const cache = mkdtempSync(join(tmpdir(), 'bugzapp-bench-cache-'));
  try {
    const env = { ...process.env, NODE_COMPILE_CACHE: cache };
    options.log(`startup: ${options.runs} runs of node bin/bugzapp.js --version, then of node -e 0`);
    out.version = timeRuns([join(REPO_ROOT, 'bin', 'bugzapp.js'), '--version'], options.runs, env);
    out.bareNode = timeRuns(['-e', '0'], options.runs, env);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
  out.bar = { limitMs: STARTUP_LIMIT_MS, pass: out.version.medianMs <= STARTUP_LIMIT_MS };
  return out;
}
