// Every case of the suite, in the order of docs/protocol.md. Ids are stable: the document names them.
import { authCases } from './auth.ts';
import { closeCases } from './close.ts';
import { connectionCases } from './connection.ts';
import { eventCases } from './events.ts';
import { expiryCases } from './expiry.ts';
import { healthCases } from './health.ts';
import { messageCases } from './messages.ts';
import { rateLimitCases } from './rate-limit.ts';
import { restCases } from './rest.ts';
import { resumeCases } from './resume.ts';
import type { CheckCase } from './types.ts';

export const ALL_CASES: readonly CheckCase[] = [
  ...authCases,
  ...expiryCases,
  ...connectionCases,
  ...eventCases,
  ...messageCases,
  ...rateLimitCases,
  ...closeCases,
  ...resumeCases,
  ...restCases,
  ...healthCases,
];

export const SECTION_TITLES: Record<string, string> = {
  '2': 'Authentication',
  '3': 'Connection start',
  '4': 'Server events',
  '5': 'Client messages',
  '6': 'Resume',
  '7': 'REST',
  '8': 'Health and metrics',
};

/** Cases selected by `only` (sections "5" or id prefixes "ratelimit", "rest.create"). */
export function selectCases(only: readonly string[] | undefined, destructive: boolean): CheckCase[] {
  return ALL_CASES.filter((c) => {
    if (c.destructive && !destructive) return false;
    if (!only || only.length === 0) return true;
    return only.some((o) => c.section === o || c.id === o || c.id.startsWith(`${o}.`));
  });
}
