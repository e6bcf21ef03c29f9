import { describe, expect, it } from 'vitest';
import { mintToken, mintTokenSync, verifyToken, type TokenFlavour } from '../../src/protocol/index.ts';

const secret = 'test-secret';

describe('tokens', () => {
  it('mints a token that verifies, with sub as a string', async () => {
    const token = await mintToken({ userId: 42, secret });
    await expect(verifyToken(token, { secret })).resolves.toMatchObject({ userId: '42' });
  });
  it('mints the same valid token synchronously', async () => {
    const token = mintTokenSync({ userId: 'u-7', secret, ttlSeconds: 60 });
    const v = await verifyToken(token, { secret });
    expect(v.userId).toBe('u-7');
    expect(v.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(60);
  });
  it.each<[TokenFlavour, string]>([
    ['expired', 'ERR_AUTH_TOKEN_EXPIRED'],
    ['bad-signature', 'ERR_AUTH_INVALID_TOKEN'],
    ['no-sub', 'ERR_AUTH_INVALID_TOKEN'],
    ['alg-none', 'ERR_AUTH_INVALID_TOKEN'],
    ['no-exp', 'ERR_AUTH_INVALID_TOKEN'],
  ])('refuses a %s token with %s', async (flavour, code) => {
    const token = await mintToken({ userId: 42, secret, flavour });
    await expect(verifyToken(token, { secret })).rejects.toMatchObject({ code });
  });
  it('checks issuer and audience when configured', async () => {
    const token = await mintToken({ userId: 1, secret, issuer: 'a', audience: 'b' });
    await expect(verifyToken(token, { secret, issuer: 'a', audience: 'b' })).resolves.toMatchObject({ userId: '1' });
    await expect(verifyToken(token, { secret, issuer: 'other' })).rejects.toMatchObject({ code: 'ERR_AUTH_INVALID_TOKEN' });
  });
  it('refuses a token past its exp at an injected clock', async () => {
    const token = await mintToken({ userId: 1, secret, ttlSeconds: 10 });
    const later = Math.floor(Date.now() / 1000) + 3600;
    await expect(verifyToken(token, { secret, now: later })).rejects.toMatchObject({ code: 'ERR_AUTH_TOKEN_EXPIRED' });
  });
});
