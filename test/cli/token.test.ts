// `bugzapp token`: in-process through runCli, plus one spawned smoke test of the real binary.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEV_SECRET, verifyToken } from '../../src/protocol/index.ts';
import { run } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function token(args: string[], env: Record<string, string | undefined> = {}) {
  const r = await run(['token', ...args], env);
  return { ...r, out: r.out.trim() };
}

describe('bugzapp token (in-process)', () => {
  it('prints a valid HS256 token for the user, from --secret, else env, else the dev secret', async () => {
    const a = await token(['--user', '42', '--secret', 's1']);
    expect(a.code).toBe(0);
    expect(await verifyToken(a.out, { secret: 's1' })).toMatchObject({ userId: '42' });
    const b = await token(['--user', '7'], { BUGZAPP_JWT_SECRET: 'from-env' });
    expect((await verifyToken(b.out, { secret: 'from-env' })).userId).toBe('7');
    const c = await token(['--user', '8']);
    expect((await verifyToken(c.out, { secret: DEV_SECRET })).userId).toBe('8');
    expect(decodeProtectedHeader(a.out).alg).toBe('HS256');
  });

  it('honours --ttl, --issuer and --audience', async () => {
    const r = await token(['--user', '1', '--ttl', '5m', '--issuer', 'i', '--audience', 'a']);
    const claims = decodeJwt(r.out);
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(claims).toMatchObject({ iss: 'i', aud: 'a', sub: '1' });
  });

  it('prints each deliberately bad token', async () => {
    const secret = 's';
    const expired = await token(['--user', '1', '--secret', secret, '--expired']);
    await expect(verifyToken(expired.out, { secret })).rejects.toMatchObject({ code: 'ERR_AUTH_TOKEN_EXPIRED' });
    const badSig = await token(['--user', '1', '--secret', secret, '--bad-signature']);
    await expect(verifyToken(badSig.out, { secret })).rejects.toMatchObject({ code: 'ERR_AUTH_INVALID_TOKEN' });
    const noSub = await token(['--user', '1', '--secret', secret, '--no-sub']);
    expect(decodeJwt(noSub.out).sub).toBeUndefined();
    const none = await token(['--user', '1', '--secret', secret, '--alg-none']);
    expect(decodeProtectedHeader(none.out).alg).toBe('none');
    const noExp = await token(['--user', '1', '--secret', secret, '--no-exp']);
    expect(decodeJwt(noExp.out).exp).toBeUndefined();
    for (const t of [noSub, none, noExp]) {
      await expect(verifyToken(t.out, { secret })).rejects.toMatchObject({ code: 'ERR_AUTH_INVALID_TOKEN' });
    }
  });

  it('exits 2 naming the flags on bad usage', async () => {
    const both = await token(['--user', '1', '--expired', '--alg-none']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('--expired');
    expect(both.err).toContain('--alg-none');
    const ttl = await token(['--user', '1', '--ttl', 'soon']);
    expect(ttl.code).toBe(2);
    expect(ttl.err).toContain('--ttl');
    const noUser = await token([]);
    expect(noUser.code).toBe(2);
    expect(noUser.err).toContain('--user');
    expect(noUser.out).toBe('');
    const emptySecret = await token(['--user', '1', '--secret', '']);
    expect(emptySecret.code).toBe(2);
    expect(emptySecret.err).toContain('--secret');
    expect(emptySecret.err).not.toContain('bug in bugzapp');
  });
});

describe('npx bugzapp token (spawned)', () => {
  it('prints a JWT that verifies', async () => {
    const child = spawn('npx', ['bugzapp', 'token', '--user', '42', '--secret', 'smoke'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(await verifyToken(out.trim(), { secret: 'smoke' })).toMatchObject({ userId: '42' });
  });
});
