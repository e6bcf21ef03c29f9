// The package as a user gets it: `npm pack` (which builds through `prepare`), then `npm install
// <tarball>` in an empty folder with Node 24 first on PATH, then the CLI, the library and a small load
// run from the installed tree, which holds no TypeScript loader. npm may answer from its cache; where
// the install fails, the registry cannot be reached and CI is not set, the test is skipped.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './build-dist.ts';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const WAIT_MS = 60_000;

/** This Node (24, through npx vitest) first on PATH; npm's own variables of an outer `npm test` left out. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !/^npm_config_(cache|registry|userconfig)$/i.test(k)) continue;
    env[k] = v;
  }
  env.PATH = [dirname(process.execPath), process.env.PATH].join(delimiter);
  delete env.BUGZAPP_URL;
  delete env.BUGZAPP_JWT_SECRET;
  return env;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = WAIT_MS): SpawnSyncReturns<string> {
  const res = spawnSync(cmd, args, { cwd, env: userEnv(), encoding: 'utf8', timeout: timeoutMs });
  if (res.error) throw res.error;
  return res;
}

function explain(res: SpawnSyncReturns<string>): string {
  return `exit ${res.status ?? res.signal}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`;
}

async function registryReachable(): Promise<boolean> {
  const registry = (run('npm', ['config', 'get', 'registry'], REPO_ROOT).stdout.trim() || 'https://registry.npmjs.org/').replace(/\/?$/, '/');
  try {
    const res = await fetch(`${registry}-/ping`, { signal: AbortSignal.timeout(5000) });
    return res.status < 500;
  } catch {
    return false;
  }
}

/** Every directory named `name` that holds a package.json, anywhere under `root`. */
function findPackages(root: string, name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if (entry.name === name && existsSync(join(path, 'package.json'))) found.push(path);
      walk(path);
    }
  };
  walk(root);
  return found;
}

let work: string;
let consumer: string;
let packed: { files: { path: string }[]; filename: string };
let skipReason: string | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bugzapp-pack-'));
  // pack a copy, so that its `prepare` build does not rewrite the dist/ the other tests are running
  const source = join(work, 'source');
  for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'bin', 'src', 'docs', 'fixtures/scenarios']) {
    cpSync(join(REPO_ROOT, path), join(source, path), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  const pack = run('npm', ['pack', '--json', '--pack-destination', work], source, 120_000);
  expect(pack.status, explain(pack)).toBe(0);
  packed = (JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as (typeof packed)[])[0]!;

  consumer = join(work, 'consumer');
  cpSync(join(REPO_ROOT, 'test/package/consumer.package.json'), join(consumer, 'package.json'));
  // without a reachable registry, install from npm's cache alone (fails fast instead of retrying)
  const online = await registryReachable();
  const install = spawnSync('npm', ['install', online ? '--prefer-offline' : '--offline', '--no-audit', '--no-fund', join(work, packed.filename)], {
    cwd: consumer,
    env: userEnv(),
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (install.status !== 0) {
    const why = `npm install of the tarball failed (${install.error?.message ?? `exit ${install.status ?? install.signal}`}): ${explain(install)}`;
    if (!online && !process.env.CI) skipReason = `the registry cannot be reached and npm's cache lacks a dependency: ${why}`;
    else expect.fail(why);
  }
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack, then npm install <tarball> in an empty folder', () => {
  it('packs the built library and the bin, and no tests or bench', () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['bin/bugzapp.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/index.js', 'dist/loadtest/shard-worker.js', 'package.json', 'README.md']));
    expect(files.filter((f) => /^(test|bench|fixtures\/servers)\/|\.test\.|^src\//.test(f))).toEqual([]);
  });

  it('installs a tree with no tsx and no TypeScript', (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    expect(findPackages(join(consumer, 'node_modules'), 'tsx')).toEqual([]);
    expect(findPackages(join(consumer, 'node_modules'), 'typescript')).toEqual([]);
  });

  it('npx bugzapp --version and token --user 42', (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const version = run('npx', ['--no-install', 'bugzapp', '--version'], consumer);
    expect(version.status, explain(version)).toBe(0);
    expect(version.stdout.trim()).toBe(VERSION);
    const token = run('npx', ['--no-install', 'bugzapp', 'token', '--user', '42'], consumer);
    expect(token.status, explain(token)).toBe(0);
    const payload = JSON.parse(Buffer.from(token.stdout.trim().split('.')[1]!, 'base64url').toString()) as { sub: string };
    expect(payload.sub).toBe('42');
  });

  it('bugzapp serve --port 0 answers /healthz and stops on SIGTERM', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    // the installed bin that npx runs, signalled directly: npm exec itself dies on SIGTERM without
    // passing it on, so a process manager should run the bin, not npx
    const child = spawn(join(consumer, 'node_modules', '.bin', 'bugzapp'), ['serve', '--port', '0', '--log-level', 'warn'], {
      cwd: consumer,
      env: userEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve printed no URL within ${WAIT_MS} ms: ${stderr}`)), WAIT_MS);
        createInterface({ input: child.stdout }).on('line', (line) => {
          const m = /listening on (http:\/\/\S+)/.exec(line);
          if (m) (clearTimeout(timer), resolve(m[1]!));
        });
        void exited.then((code) => (clearTimeout(timer), reject(new Error(`serve exited (${code}) before listening: ${stderr}`))));
      });
      const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(WAIT_MS) });
      expect(health.status).toBe(200);
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), WAIT_MS))]);
      expect(code, stderr).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it("import('bugzapp') gives the library: a server and a client from code", (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const script = join(consumer, 'use-library.mjs');
    writeFileSync(
      script,
      `import * as bugzapp from 'bugzapp';
const exported = ['createServer', 'createClient', 'BugzappClient', 'runLoadTest', 'runCheck', 'mintToken', 'encode', 'BugzappError'].filter((k) => typeof bugzapp[k] === 'function');
const server = await bugzapp.createServer({ port: 0, host: '127.0.0.1', secret: 's3cret' });
const client = bugzapp.createClient({ url: server.url, tokenProvider: () => bugzapp.mintToken({ userId: '7', secret: 's3cret' }) });
const info = await client.connect();
if (info.userId !== '7') throw new Error('connected as ' + info.userId);
await client.close();
await server.close();
console.log(JSON.stringify({ exported, connected: true }));
`,
    );
    const res = run(process.execPath, [script], consumer);
    expect(res.status, explain(res)).toBe(0);
    expect(JSON.parse(res.stdout.trim())).toEqual({
      exported: ['createServer', 'createClient', 'BugzappClient', 'runLoadTest', 'runCheck', 'mintToken', 'encode', 'BugzappError'],
      connected: true,
    });
  });

  it('runs a small load test from the installed tree: the compiled worker and the server it starts', (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const res = run('npx', ['--no-install', 'bugzapp', 'load', '--users', '4', '--events', '10', '--workers', '1', '--skip-rate-limit', '--json'], consumer, 120_000);
    // 3 would be a run the loaded machine saturated (invalid, not failed); delivery is checked either way
    expect([0, 3], explain(res)).toContain(res.status);
    const report = JSON.parse(res.stdout) as { startedServer: boolean; checks: { group: string; status: string }[] };
    expect(report.startedServer).toBe(true);
    const delivery = report.checks.filter((c) => c.group === 'delivery');
    expect(delivery.length).toBeGreaterThan(0);
    expect(delivery.map((c) => c.status)).toEqual(delivery.map(() => 'pass'));
  });
});
