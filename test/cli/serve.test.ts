// `bugzapp serve`: flag errors and a full run in-process through runCli, plus one spawned smoke test.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../../src/cli/index.ts';
import { serveOptionsFromFlags } from '../../src/cli/commands/serve.ts';
import { captureIO } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LISTEN_LINE = /^bugzapp listening on (http:\/\/\S+)$/m;

describe('bugzapp serve flags', () => {
  const bad: [string[], Record<string, string>, string][] = [
    [['--port', 'abc'], {}, '--port'],
    [['--port', '70000'], {}, '--port'],
    [['--rate-limit', '10'], {}, '--rate-limit'],
    [['--rate-limit', '0/1s'], {}, '--rate-limit'],
    [['--max-payload', 'huge'], {}, '--max-payload'],
    [['--history', '-1'], {}, '--history'],
    [['--slow-consumer-limit', '1xb'], {}, '--slow-consumer-limit'],
    [['--log-level', 'loud'], {}, '--log-level'],
    [['--redis', 'localhost:6379'], {}, '--redis'],
    [[], { BUGZAPP_PORT: 'eighty' }, 'BUGZAPP_PORT'],
    [[], { BUGZAPP_RATE_LIMIT: 'lots' }, '--rate-limit'],
    // checked by createServer, not by the flag parser: the error still names the flag
    [['--secret', ''], {}, '--secret'],
    [['--host', ''], {}, '--host'],
  ];
  for (const [args, env, named] of bad) {
    it(`exits 2 naming ${named} for ${[...args, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ')}`, async () => {
      const c = captureIO(env);
      const code = await runCli(['serve', ...args], c.io);
      expect(code).toBe(2);
      expect(c.err()).toContain(named);
      expect(c.out()).toBe('');
    });
  }

  it('exits 2 naming --port when the port is taken', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const c = captureIO();
    const code = await runCli(['serve', '--port', String((taken.address() as AddressInfo).port), '--log-level', 'silent'], c.io);
    expect(code).toBe(2);
    expect(c.err()).toMatch(/^error: --port: cannot listen/);
    expect(c.out()).toBe('');
  });

  it('takes flags over env over defaults', () => {
    const { options, logLevel } = serveOptionsFromFlags(
      { port: '9001', rateLimit: '100/500ms' },
      { BUGZAPP_PORT: '9000', BUGZAPP_JWT_SECRET: 'env-secret', BUGZAPP_MAX_PAYLOAD: '16kb', BUGZAPP_LOG_LEVEL: 'warn' },
    );
    expect(options).toEqual({
      port: 9001,
      secret: 'env-secret',
      rateLimit: { max: 100, windowMs: 500 },
      maxPayload: 16 * 1024,
    });
    expect(logLevel).toBe('warn');
  });
});

describe('bugzapp serve (in-process)', () => {
  it('prints the URL line, serves, warns once about the dev secret, and exits 0 on abort', async () => {
    const c = captureIO();
    const done = runCli(['serve', '--port', '0', '--log-level', 'info'], c.io);
    onTestFinished(() => c.controller.abort());
    const url = (await c.waitForOut(LISTEN_LINE))[1]!;
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    c.controller.abort();
    expect(await done).toBe(0);
    expect(c.out()).toBe(`bugzapp listening on ${url}\n`);
    const logs = c.err().trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logs.filter((l) => /development secret/.test(l.msg))).toHaveLength(1);
  });
});

describe('npx bugzapp serve (spawned)', () => {
  it('prints the URL, answers /healthz, and exits 0 on SIGTERM', async () => {
    const child = spawn('npx', ['bugzapp', 'serve', '--port', '0', '--log-level', 'info'], {
      cwd: ROOT,
      env: { ...process.env, BUGZAPP_JWT_SECRET: 'smoke-secret', BUGZAPP_PORT: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let serverPid: number | undefined;
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) {
        if (serverPid) process.kill(serverPid, 'SIGKILL');
        child.kill('SIGKILL');
      }
    });
    const exited = once(child, 'exit');
    // npx runs the server as its child: the pid to signal is the one in the server's own log line
    const pidSeen = new Promise<number>((resolve) => {
      createInterface({ input: child.stderr }).on('line', (line) => {
        try {
          const rec = JSON.parse(line) as { pid?: number; msg?: string };
          if (rec.msg === 'listening' && rec.pid) resolve(rec.pid);
        } catch {
          // not a log line
        }
      });
    });
    const urlSeen = new Promise<string>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = LISTEN_LINE.exec(line);
        if (m) resolve(m[1]!);
      });
    });
    const timeout = (what: string) =>
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not seen in time`)), 20_000).unref());
    const url = await Promise.race([urlSeen, timeout('listening line')]);
    serverPid = await Promise.race([pidSeen, timeout('listening log line')]);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    process.kill(serverPid, 'SIGTERM');
    const [code] = await Promise.race([exited, timeout('exit')]);
    expect(code).toBe(0);
  });
});
