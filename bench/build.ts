// The cases that run the compiled CLI (cli, startup) build dist/ first, so they measure this tree.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './server-process.ts';

/** Runs `tsc -p tsconfig.build.json`; returns why it failed (its first line of output), or undefined. */
export function buildDist(log: (line: string) => void, label: string): string | undefined {
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  log(`${label}: building dist/`);
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return build.status === 0 ? undefined : (build.stdout + build.stderr).split('\n')[0];
}
