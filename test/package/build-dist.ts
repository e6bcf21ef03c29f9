// vitest globalSetup: compiles src/ to dist/ once before the tests, so that the tests that spawn the
// real bin/bugzapp.js (which runs dist/) test the sources as they are now, not a stale build.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function buildDist(): void {
  // typescript's exports map hides bin/tsc from resolve(); it sits beside its package.json
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`npm run build failed (${res.status ?? res.signal}):\n${res.stdout}${res.stderr}`);
}

export default function setup(): void {
  buildDist();
}
