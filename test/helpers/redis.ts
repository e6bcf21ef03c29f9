// A real redis-server for tests: spawned on a free loopback port with no persistence, stopped, killed
// and restarted on the same port. Tests skip (with a message) only where redis-server is not
// installed, and never when CI is set: there a missing redis-server fails the run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

const BINARY = process.env.BUGZAPP_REDIS_SERVER ?? 'redis-server';
const START_TIMEOUT_MS = 10_000;

let installed: boolean | undefined;
let warned = false;

/** Whether redis-server can be run here. */
export function redisInstalled(): boolean {
  if (installed === undefined) {
    const r = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
    installed = r.status === 0 && /Redis server/i.test(r.stdout);
  }
  return installed;
}

/**
 * For `describe.skipIf(skipRedis())`: true only when redis-server is missing and CI is not set; with CI
 * set and no redis-server it throws, so CI never skips these tests silently.
 */
export function skipRedis(): boolean {
  if (redisInstalled()) return false;
  if (process.env.CI) {
    throw new Error(`${BINARY} is not installed, and CI is set: the Redis tests must run on CI (.ci/run installs it)`);
  }
  if (!warned) console.warn(`[redis tests] skipped: ${BINARY} is not installed (apt-get install redis-server)`);
  warned = true;
  return true;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Start a redis-server on a free port (retrying on the rare port race). */
  static async start(): Promise<RedisServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new RedisServer(await freePort());
      try {
        await server.spawn();
        return server;
      } catch (err) {
        lastError = err;
        await server.stop();
      }
    }
    throw lastError;
  }

  private spawn(): Promise<void> {
    this.output = '';
    const child = spawn(
      BINARY,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`redis-server not ready within ${START_TIMEOUT_MS} ms:\n${this.output}`)), START_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        this.output += chunk.toString('utf8');
        if (this.output.includes('Ready to accept connections')) done();
      };
      const onExit = (code: number | null, signal: string | null): void => {
        done(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${this.output}`));
      };
      const done = (err?: Error): void => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onExit as never);
        if (err) reject(err);
        else resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
      child.once('exit', onExit);
      child.once('error', (e) => done(e));
    });
  }

  /** Stop the server: SIGTERM, or SIGKILL (a crash). Resolves once the process has exited. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  /** Start it again on the same port, empty (no persistence): a new Redis as far as clients can tell. */
  async restart(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    let lastError: unknown;
    // the port was ours a moment ago; give the kernel a few tries to release it
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await this.spawn();
        return;
      } catch (err) {
        lastError = err;
        await waitForExit(this.child);
        await new Promise((r) => setImmediate(r));
      }
    }
    throw lastError;
  }
}

async function waitForExit(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}
