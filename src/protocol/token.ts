// JWTs of protocol.md section 2: mint good and deliberately bad test tokens, and verify them.
import { createHmac } from 'node:crypto';
import { AuthError } from '../errors.ts';

// jose (some 180 modules) loads on the first sign or verify, not with every import of the protocol:
// the CLI's start-up (`bugzapp --version`, `--help`) never needs it
let jose: Promise<typeof import('jose')> | undefined;
const loadJose = (): Promise<typeof import('jose')> => (jose ??= import('jose'));

/** The secret used when none is configured. Servers warn when they fall back to it. */
export const DEV_SECRET = 'bugzapp-dev-secret-change-me';

export type TokenFlavour =
  /** A valid HS256 token. */
  | 'valid'
  /** Signed correctly, but `exp` is in the past. */
  | 'expired'
  /** Signed with another secret. */
  | 'bad-signature'
  /** Valid signature, no `sub` claim. */
  | 'no-sub'
  /** Unsigned, `alg: none`. */
  | 'alg-none'
  /** Valid signature, no `exp` claim (never expires: refused by the protocol). */
  | 'no-exp';

export interface MintTokenOptions {
  /** The user id, the `sub` claim (always written as a string). */
  userId: string | number;
  /** HS256 secret. @default DEV_SECRET */
  secret?: string;
  /** Lifetime in seconds. @default 3600 */
  ttlSeconds?: number;
  /** Which token to make. @default 'valid' */
  flavour?: TokenFlavour;
  issuer?: string;
  audience?: string;
  /** Seconds since the epoch to mint at. @default now */
  now?: number;
}

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

export async function mintToken(options: MintTokenOptions): Promise<string> {
  const secret = options.secret ?? DEV_SECRET;
  const flavour = options.flavour ?? 'valid';
  const now = Math.floor(options.now ?? Date.now() / 1000);
  const ttl = options.ttlSeconds ?? 3600;
  const claims: Record<string, unknown> = { iat: now };
  if (flavour !== 'no-sub') claims.sub = String(options.userId);
  if (flavour === 'expired') claims.exp = now - Math.max(60, ttl);
  else if (flavour !== 'no-exp') claims.exp = now + ttl;
  if (options.issuer) claims.iss = options.issuer;
  if (options.audience) claims.aud = options.audience;

  if (flavour === 'alg-none') {
    return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}.`;
  }
  const key = new TextEncoder().encode(flavour === 'bad-signature' ? `${secret}-wrong` : secret);
  const { SignJWT } = await loadJose();
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
}

/** Mint without awaiting: HS256 computed directly. For hot paths (thousands of load-test clients). */
export function mintTokenSync(options: MintTokenOptions): string {
  const secret = options.secret ?? DEV_SECRET;
  const now = Math.floor(options.now ?? Date.now() / 1000);
  const ttl = options.ttlSeconds ?? 3600;
  const claims: Record<string, unknown> = { sub: String(options.userId), iat: now, exp: now + ttl };
  if (options.issuer) claims.iss = options.issuer;
  if (options.audience) claims.aud = options.audience;
  const head = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  const sig = createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

export interface VerifyTokenOptions {
  secret: string;
  issuer?: string;
  audience?: string;
  /** Current time in seconds since the epoch, for tests. @default now */
  now?: number;
}

export interface VerifiedToken {
  /** The user id, as a string. */
  userId: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

/**
 * Verify a token the way protocol.md section 2 says. Throws AuthError ERR_AUTH_TOKEN_EXPIRED for an
 * expired token and ERR_AUTH_INVALID_TOKEN for every other refusal.
 */
export async function verifyToken(token: string, options: VerifyTokenOptions): Promise<VerifiedToken> {
  const key = new TextEncoder().encode(options.secret);
  const { jwtVerify, errors: joseErrors } = await loadJose();
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.audience ? { audience: options.audience } : {}),
      ...(options.now !== undefined ? { currentDate: new Date(options.now * 1000) } : {}),
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) {
      throw new AuthError('ERR_AUTH_TOKEN_EXPIRED', 'token expired', { cause: err });
    }
    throw new AuthError('ERR_AUTH_INVALID_TOKEN', 'invalid authentication token', { cause: err });
  }
  const sub = payload.sub as unknown;
  let userId: string | undefined;
  if (typeof sub === 'string' && sub.length > 0) userId = sub;
  else if (typeof sub === 'number' && Number.isSafeInteger(sub)) userId = String(sub);
  if (userId === undefined) throw new AuthError('ERR_AUTH_INVALID_TOKEN', 'token has no sub claim');
  if (typeof payload.exp !== 'number') throw new AuthError('ERR_AUTH_INVALID_TOKEN', 'token has no exp claim');
  return { userId, exp: payload.exp };
}
