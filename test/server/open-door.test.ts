// `serve` on a non-loopback host refuses the built-in development secret (anyone can read it in the
// source and mint tokens), warns on a short secret, and prints the address it really listens on.
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../../src/cli/index.ts';
import { DEV_SECRET } from '../../src/protocol/index.ts';
import { isLoopbackHost } from '../../src/server/options.ts';
import { createServer } from '../../src/server/index.ts';
import { captureIO } from '../helpers/cli.ts';

const LISTEN_LINE = /^bugzapp listening on (http:\/\/\S+)$/m;

describe('serve on a public interface', () => {
  it('exits 2 without a secret, naming --secret and BUGZAPP_JWT_SECRET', async () => {
    const c = captureIO();
    const code = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--log-level', 'silent'], c.io);
    expect(code).toBe(2);
    expect(c.err()).toContain('--secret');
    expect(c.err()).toContain('BUGZAPP_JWT_SECRET');
    expect(c.out()).toBe('');
  });

  it('exits 2 with the development secret given explicitly, and from BUGZAPP_HOST', async () => {
    const c = captureIO({ BUGZAPP_HOST: '::' });
    expect(await runCli(['serve', '--port', '0', '--log-level', 'silent'], c.io)).toBe(2);
    expect(c.err()).toContain('--secret');
    await expect(createServer({ host: '0.0.0.0', port: 0, secret: DEV_SECRET })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });

  it('starts with a secret, prints the bound address, and warns when the secret is short', async () => {
    const c = captureIO({ BUGZAPP_JWT_SECRET: 'short' });
    const done = runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--log-level', 'warn'], c.io);
    onTestFinished(() => c.controller.abort());
    const url = (await c.waitForOut(LISTEN_LINE))[1]!;
    expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    const port = new URL(url).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok' });
    c.controller.abort();
    expect(await done).toBe(0);
    const logs = c.err().trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(logs.filter((l) => /shorter than 32 bytes/.test(l.msg))).toHaveLength(1);
  });

  it('starts on loopback with the development secret', async () => {
    const c = captureIO();
    const done = runCli(['serve', '--host', '127.0.0.2', '--port', '0', '--log-level', 'silent'], c.io);
    onTestFinished(() => c.controller.abort());
    expect((await c.waitForOut(LISTEN_LINE))[1]).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    c.controller.abort();
    expect(await done).toBe(0);
  });

  it('knows loopback from the rest', () => {
    for (const h of ['127.0.0.1', '127.9.8.7', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
  });
});
