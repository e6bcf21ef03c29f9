// On a Node older than 24 the CLI stops before importing anything and says what it needs. The old
// Node is the machine's own (`node` on PATH without npm's node_modules/.bin), found with `which -a`.
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './build-dist.ts';

const BIN = join(REPO_ROOT, 'bin', 'bugzapp.js');

/** A `node` on PATH whose major is below 24, with its version; undefined when there is none. */
function findOldNode(): { path: string; version: string } | undefined {
  const which = spawnSync('which', ['-a', 'node'], { encoding: 'utf8' });
  for (const path of new Set(which.stdout.split('\n').filter(Boolean))) {
    const v = spawnSync(path, ['--version'], { encoding: 'utf8' });
    const version = v.stdout?.trim() ?? '';
    const major = Number(/^v(\d+)\./.exec(version)?.[1]);
    if (v.status === 0 && major < 24) return { path, version };
  }
  return undefined;
}

const old = findOldNode();
if (!old && process.env.CI) throw new Error('CI is set but no Node older than 24 is on PATH: the version guard goes untested');

describe.skipIf(!old)(`the CLI on ${old?.version ?? 'an old Node'}`, () => {
  it('exits 1 before loading anything, naming Node.js 24 and the version it found', () => {
    const res = spawnSync(old!.path, [BIN, 'token', '--user', '42'], { encoding: 'utf8', timeout: 30_000 });
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('bugzapp needs Node.js 24 or newer');
    expect(res.stderr).toContain(`this is ${old!.version}`);
    expect(res.status).toBe(1);
  });

  it('does so as an executable run through /usr/bin/env node with that Node first on PATH', () => {
    const PATH = [dirname(old!.path), ...(process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes('node_modules'))].join(delimiter);
    const res = spawnSync(BIN, ['--version'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, PATH } });
    expect(res.stderr).toContain(`bugzapp needs Node.js 24 or newer; this is ${old!.version}`);
    expect(res.status).toBe(1);
  });
});
