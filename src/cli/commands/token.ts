// `bugzapp token`: mint an HS256 JWT for a user, or one of the deliberately bad tokens auth tests need.
import { Command } from 'commander';
import { InvalidOptionError } from '../../errors.ts';
import { DEV_SECRET, mintToken, type TokenFlavour } from '../../protocol/index.ts';
import { parseDuration } from '../../units.ts';
import type { CliIO } from '../io.ts';

interface TokenFlags {
  user: string;
  ttl?: string;
  secret?: string;
  issuer?: string;
  audience?: string;
  expired?: boolean;
  badSignature?: boolean;
  /** commander's negatable `--no-sub`: false when given. */
  sub?: boolean;
  algNone?: boolean;
  /** `--no-exp`: false when given. */
  exp?: boolean;
}

/** The mintToken flavour of the flags; throws InvalidOptionError naming both flags when two are given. */
export function tokenFlavourFromFlags(flags: TokenFlags): TokenFlavour {
  const chosen: [string, TokenFlavour][] = [];
  if (flags.expired) chosen.push(['--expired', 'expired']);
  if (flags.badSignature) chosen.push(['--bad-signature', 'bad-signature']);
  if (flags.sub === false) chosen.push(['--no-sub', 'no-sub']);
  if (flags.algNone) chosen.push(['--alg-none', 'alg-none']);
  if (flags.exp === false) chosen.push(['--no-exp', 'no-exp']);
  if (chosen.length > 1) {
    throw new InvalidOptionError(chosen[0]![0], `cannot be combined with ${chosen.slice(1).map((c) => c[0]).join(', ')}`);
  }
  return chosen[0]?.[1] ?? 'valid';
}

export function registerTokenCommand(program: Command, io: CliIO): void {
  program
    .command('token')
    .description('Print a JWT for a user (HS256), or a deliberately bad one for auth tests.')
    .requiredOption('--user <id>', 'the user id (the sub claim)')
    .option('--ttl <duration>', 'lifetime, e.g. 90s, 15m, 1h (default 1h)')
    .option('--secret <secret>', 'HS256 secret [env BUGZAPP_JWT_SECRET] (default: the dev secret)')
    .option('--issuer <iss>', 'iss claim [env BUGZAPP_JWT_ISSUER]')
    .option('--audience <aud>', 'aud claim [env BUGZAPP_JWT_AUDIENCE]')
    .option('--expired', 'a correctly signed token whose exp has passed')
    .option('--bad-signature', 'a token signed with another secret')
    .option('--no-sub', 'a token without the sub claim')
    .option('--alg-none', 'an unsigned token (alg: none)')
    .option('--no-exp', 'a token without exp (never expires; servers refuse it)')
    .addHelpText(
      'after',
      `
Examples:
  $ bugzapp token --user 42
  $ bugzapp token --user 42 --ttl 5m --secret s3cret
  $ wscat -c "ws://127.0.0.1:8000/ws?token=$(bugzapp token --user 42)"
  $ bugzapp token --user 42 --expired          # must be refused with 403`,
    )
    .action(async (flags: TokenFlags) => {
      const flavour = tokenFlavourFromFlags(flags);
      if (!flags.user.trim()) throw new InvalidOptionError('--user', 'must not be empty');
      let ttlSeconds = 3600;
      if (flags.ttl !== undefined) {
        const ms = parseDuration(flags.ttl);
        if (ms === undefined || ms < 1000) throw new InvalidOptionError('--ttl', `expected a duration of at least 1s, got '${flags.ttl}'`);
        ttlSeconds = Math.floor(ms / 1000);
      }
      if (flags.secret === '') throw new InvalidOptionError('--secret', 'must not be empty');
      const secret = flags.secret ?? (io.env.BUGZAPP_JWT_SECRET || DEV_SECRET);
      const issuer = flags.issuer ?? (io.env.BUGZAPP_JWT_ISSUER || undefined);
      const audience = flags.audience ?? (io.env.BUGZAPP_JWT_AUDIENCE || undefined);
      const token = await mintToken({
        userId: flags.user,
        secret,
        ttlSeconds,
        flavour,
        ...(issuer ? { issuer } : {}),
        ...(audience ? { audience } : {}),
      });
      io.stdout.write(`${token}\n`);
    });
}
