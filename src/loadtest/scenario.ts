// Scenario files (fixtures/scenarios/*.json): a load shape and its gates, checked field by field so that
// a typo names the field instead of silently running the default. Durations and rates are written the
// way flags are (`"30s"`, `"10/1s"`); the target and the secret stay out (they come from flags or env).
import { readFile } from 'node:fs/promises';
import { BugzappError, isBugzappError } from '../errors.ts';
import { parseDuration, parseRate } from '../units.ts';
import { parseChurn, parseSlow, parseStorm } from './churn.ts';
import { parseGate, type Gate } from './gates.ts';
import { MIX_OPERATIONS, type LoadMix, type LoadTestInput, type MixOperation } from './types.ts';

export interface Scenario {
  /** Where it came from (a path), for messages. */
  source: string;
  name: string | undefined;
  description: string | undefined;
  /** Only the fields the file sets. */
  input: LoadTestInput;
  gates: Gate[];
}

/** The fields a scenario may hold, with what each takes (shown in errors). */
export const SCENARIO_FIELDS: Record<string, string> = {
  $schema: 'a string (ignored)',
  $comment: 'a string (ignored)',
  name: 'a string',
  description: 'a string',
  users: 'an integer >= 1',
  connsPerUser: 'an integer >= 1',
  connectRate: 'a number > 0 (connections per second)',
  events: 'an integer >= 0 (exclusive with duration)',
  duration: 'a duration like "30s" (exclusive with events)',
  rate: 'a number > 0 (REST operations per second)',
  mix: `weights like {"bug_report": 70, "comment": 20} or "bug_report:70,comment:20" (${MIX_OPERATIONS.join(', ')})`,
  assignRatio: 'a number from 0 to 1',
  drainTimeout: 'a duration like "10s"',
  workers: 'an integer >= 0',
  rateLimit: 'a rate like "10/1s"',
  skipRateLimit: 'true or false',
  saturationLag: 'a duration like "100ms"',
  connectTimeout: 'a duration like "30s"',
  churn: 'a churn like "5%/2s" (P% of the open connections cut every interval)',
  storms: 'a list of storms like ["100%@10s"] (P% of the connections cut at T)',
  slow: 'a slow share like "2%" or "2%:5s" (P% of the connections stop reading, for the duration or until firing ends)',
  seed: 'an integer >= 0 (the choice of connections to cut or pause)',
  tokenTtl: 'a duration like "5s" (token lifetime; 4001 then a fresh token)',
  gates: 'a list of gate expressions like ["delivery==100%", "p99<=50ms"]',
};

function scenarioError(source: string, field: string, why: string): BugzappError {
  return new BugzappError('ERR_LOADTEST_SCENARIO', `${source}: ${field}: ${why}`);
}

/** `bug_report:70,comment:20,update:10` -> weights; undefined with a reason when malformed. */
export function parseMix(text: string): { mix: LoadMix } | { error: string } {
  const mix: LoadMix = {};
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) return { error: 'expected op:weight pairs like bug_report:70,comment:20' };
  for (const part of parts) {
    const m = /^([a-z_]+)\s*:\s*(\d+(?:\.\d+)?)$/.exec(part);
    if (!m) return { error: `"${part}" is not op:weight (e.g. comment:20)` };
    const op = m[1]!;
    if (!(MIX_OPERATIONS as readonly string[]).includes(op)) return { error: `unknown operation "${op}" (expected ${MIX_OPERATIONS.join(', ')})` };
    if (op in mix) return { error: `"${op}" is given twice` };
    mix[op as MixOperation] = Number(m[2]);
  }
  if (Object.values(mix).every((w) => w === 0)) return { error: 'at least one operation needs a positive weight' };
  return { mix };
}

/** Validates parsed JSON as a scenario. Throws ERR_LOADTEST_SCENARIO (or ERR_GATE_SYNTAX) naming the field. */
export function parseScenario(data: unknown, source = 'scenario'): Scenario {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw scenarioError(source, '(root)', 'expected a JSON object');
  const obj = data as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in SCENARIO_FIELDS)) throw scenarioError(source, key, `unknown field (known: ${Object.keys(SCENARIO_FIELDS).filter((k) => !k.startsWith('$')).join(', ')})`);
  }
  const bad = (field: string, value: unknown): never => {
    throw scenarioError(source, field, `expected ${SCENARIO_FIELDS[field]}, got ${JSON.stringify(value)}`);
  };
  const str = (field: string): string | undefined => {
    const v = obj[field];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : bad(field, v);
  };
  const int = (field: string, min: number): number | undefined => {
    const v = obj[field];
    if (v === undefined) return undefined;
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : bad(field, v);
  };
  const num = (field: string, min: number, max: number, exclusiveMin: boolean): number | undefined => {
    const v = obj[field];
    if (v === undefined) return undefined;
    return typeof v === 'number' && Number.isFinite(v) && (exclusiveMin ? v > min : v >= min) && v <= max ? v : bad(field, v);
  };
  const duration = (field: string, allowZero: boolean): number | undefined => {
    const v = obj[field];
    if (v === undefined) return undefined;
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    return ms !== undefined && (allowZero || ms > 0) ? ms : bad(field, v);
  };
  const bool = (field: string): boolean | undefined => {
    const v = obj[field];
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : bad(field, v);
  };

  str('$schema');
  str('$comment');
  const input: LoadTestInput = {};
  const set = <K extends keyof LoadTestInput>(key: K, value: LoadTestInput[K] | undefined): void => {
    if (value !== undefined) input[key] = value;
  };
  set('users', int('users', 1));
  set('connsPerUser', int('connsPerUser', 1));
  set('connectRate', num('connectRate', 0, 1_000_000, true));
  set('events', int('events', 0));
  set('durationMs', duration('duration', false));
  if (input.events !== undefined && input.durationMs !== undefined) throw scenarioError(source, 'duration', 'give either events or duration, not both');
  set('rate', num('rate', 0, 1_000_000, true));
  if (obj.mix !== undefined) {
    const m = obj.mix;
    if (typeof m === 'string') {
      const parsed = parseMix(m);
      if ('error' in parsed) throw scenarioError(source, 'mix', parsed.error);
      input.mix = parsed.mix;
    } else if (typeof m === 'object' && m !== null && !Array.isArray(m)) {
      const mix: LoadMix = {};
      for (const [op, w] of Object.entries(m)) {
        if (!(MIX_OPERATIONS as readonly string[]).includes(op)) throw scenarioError(source, `mix.${op}`, `unknown operation (expected ${MIX_OPERATIONS.join(', ')})`);
        if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw scenarioError(source, `mix.${op}`, `expected a weight >= 0, got ${JSON.stringify(w)}`);
        mix[op as MixOperation] = w;
      }
      if (Object.values(mix).every((w) => w === 0)) throw scenarioError(source, 'mix', 'at least one operation needs a positive weight');
      input.mix = mix;
    } else {
      bad('mix', m);
    }
  }
  set('assignRatio', num('assignRatio', 0, 1, false));
  set('drainTimeoutMs', duration('drainTimeout', true));
  set('workers', int('workers', 0));
  if (obj.rateLimit !== undefined) {
    const rl = typeof obj.rateLimit === 'string' ? parseRate(obj.rateLimit) : undefined;
    if (!rl || rl.max < 1) bad('rateLimit', obj.rateLimit);
    input.rateLimit = rl;
  }
  set('skipRateLimit', bool('skipRateLimit'));
  set('saturationLagMs', duration('saturationLag', false));
  set('connectTimeoutMs', duration('connectTimeout', false));
  if (obj.churn !== undefined) {
    const c = typeof obj.churn === 'string' ? parseChurn(obj.churn) : undefined;
    if (!c || 'error' in c) bad('churn', obj.churn);
    else input.churn = c;
  }
  if (obj.storms !== undefined) {
    if (!Array.isArray(obj.storms)) bad('storms', obj.storms);
    input.storms = (obj.storms as unknown[]).map((x, i) => {
      const st = typeof x === 'string' ? parseStorm(x) : undefined;
      if (!st || 'error' in st) throw scenarioError(source, `storms[${i}]`, `expected a storm like "100%@10s", got ${JSON.stringify(x)}`);
      return st;
    });
  }
  if (obj.slow !== undefined) {
    const sl = typeof obj.slow === 'string' ? parseSlow(obj.slow) : undefined;
    if (!sl || 'error' in sl) bad('slow', obj.slow);
    else input.slow = sl;
  }
  set('seed', int('seed', 0));
  set('tokenTtlMs', duration('tokenTtl', false));

  const gates: Gate[] = [];
  if (obj.gates !== undefined) {
    if (!Array.isArray(obj.gates)) bad('gates', obj.gates);
    (obj.gates as unknown[]).forEach((g, i) => {
      if (typeof g !== 'string') throw scenarioError(source, `gates[${i}]`, `expected a gate expression string, got ${JSON.stringify(g)}`);
      try {
        gates.push(parseGate(g));
      } catch (err) {
        if (isBugzappError(err) && err.code === 'ERR_GATE_SYNTAX') {
          throw new BugzappError('ERR_GATE_SYNTAX', `${source}: gates[${i}]: ${err.message}`, { cause: err });
        }
        throw err;
      }
    });
  }
  return { source, name: str('name'), description: str('description'), input, gates };
}

/** Reads and validates a scenario file. */
export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BugzappError('ERR_LOADTEST_SCENARIO', `${path}: cannot read the scenario file (${code ?? String(err)})`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BugzappError('ERR_LOADTEST_SCENARIO', `${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return parseScenario(data, path);
}
