// Scenario files: the fixtures load and resolve, each field is validated and a bad one is named.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isBugzappError } from '../../src/errors.ts';
import { resolveLoadTestOptions } from '../../src/loadtest/options.ts';
import { loadScenario, parseMix, parseScenario } from '../../src/loadtest/scenario.ts';

const SCENARIOS = fileURLToPath(new URL('../../fixtures/scenarios/', import.meta.url));

function scenarioError(data: unknown): { code: string; message: string } {
  try {
    parseScenario(data, 'x.json');
  } catch (err) {
    if (isBugzappError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(data)}`);
}

describe('the fixture scenarios', () => {
  it.each(['smoke', 'ci', 'stress'])('%s.json loads, resolves to valid options and has gates', async (name) => {
    const s = await loadScenario(join(SCENARIOS, `${name}.json`));
    expect(s.name).toBe(name);
    expect(s.gates.map((g) => g.expression)).toContain('delivery==100%');
    expect(s.gates.map((g) => g.expression)).toContain('misrouted==0');
    const o = resolveLoadTestOptions(s.input);
    expect(o.users).toBeGreaterThan(0);
  });

  it('smoke is small (seconds), ci realistic, stress holds thousands of connections in bounded time', async () => {
    const smoke = resolveLoadTestOptions((await loadScenario(join(SCENARIOS, 'smoke.json'))).input);
    expect(smoke.users * smoke.connsPerUser).toBeLessThanOrEqual(50);
    expect(smoke.events! / smoke.rate).toBeLessThanOrEqual(3);
    const ci = resolveLoadTestOptions((await loadScenario(join(SCENARIOS, 'ci.json'))).input);
    expect(ci).toMatchObject({ users: 500, events: 1000, rate: 50 });
    const stress = resolveLoadTestOptions((await loadScenario(join(SCENARIOS, 'stress.json'))).input);
    expect(stress.users * stress.connsPerUser).toBeGreaterThanOrEqual(2000);
    expect(stress.durationMs).toBeLessThanOrEqual(60_000);
  });
});

describe('parseScenario', () => {
  it('maps every field to runLoadTest input, durations and rates parsed', () => {
    const s = parseScenario({
      $schema: 'whatever',
      name: 'n',
      description: 'd',
      users: 3,
      connsPerUser: 2,
      connectRate: 10.5,
      duration: '2s',
      rate: 7,
      mix: 'bug_report:1,delete:2',
      assignRatio: 0.25,
      drainTimeout: '0ms',
      workers: 1,
      rateLimit: '5/500ms',
      skipRateLimit: true,
      saturationLag: '250ms',
      connectTimeout: '1m',
      gates: ['p99<=1s'],
    });
    expect(s.input).toEqual({
      users: 3,
      connsPerUser: 2,
      connectRate: 10.5,
      durationMs: 2000,
      rate: 7,
      mix: { bug_report: 1, delete: 2 },
      assignRatio: 0.25,
      drainTimeoutMs: 0,
      workers: 1,
      rateLimit: { max: 5, windowMs: 500 },
      skipRateLimit: true,
      saturationLagMs: 250,
      connectTimeoutMs: 60_000,
    });
    expect(s.gates).toEqual([{ expression: 'p99<=1s', figure: 'p99', op: '<=', threshold: 1000 }]);
    expect(parseScenario({ mix: { comment: 3 } }).input.mix).toEqual({ comment: 3 });
    expect(parseScenario({}).input).toEqual({});
  });

  it.each([
    [[], '(root)'],
    [{ userz: 5 }, 'userz: unknown field'],
    [{ users: 0 }, 'users: expected an integer >= 1'],
    [{ users: 1.5 }, 'users: expected'],
    [{ users: '5' }, 'users: expected'],
    [{ connsPerUser: 0 }, 'connsPerUser:'],
    [{ connectRate: 0 }, 'connectRate:'],
    [{ events: -1 }, 'events:'],
    [{ duration: 30 }, 'duration:'],
    [{ duration: 'soon' }, 'duration:'],
    [{ events: 5, duration: '1s' }, 'duration: give either events or duration'],
    [{ rate: -2 }, 'rate:'],
    [{ mix: 'bug_report=7' }, 'mix: "bug_report=7" is not op:weight'],
    [{ mix: 'launch:7' }, 'mix: unknown operation "launch"'],
    [{ mix: { launch: 7 } }, 'mix.launch: unknown operation'],
    [{ mix: { comment: -1 } }, 'mix.comment: expected a weight'],
    [{ mix: { comment: 0 } }, 'mix: at least one'],
    [{ mix: 7 }, 'mix: expected'],
    [{ assignRatio: 1.5 }, 'assignRatio:'],
    [{ drainTimeout: '-1s' }, 'drainTimeout:'],
    [{ workers: -1 }, 'workers:'],
    [{ rateLimit: '10' }, 'rateLimit:'],
    [{ rateLimit: '0/1s' }, 'rateLimit:'],
    [{ skipRateLimit: 'yes' }, 'skipRateLimit:'],
    [{ saturationLag: '0ms' }, 'saturationLag:'],
    [{ gates: 'p99<=5ms' }, 'gates: expected a list'],
    [{ gates: [5] }, 'gates[0]: expected a gate expression'],
  ])('refuses %j with ERR_LOADTEST_SCENARIO naming the field', (data, named) => {
    const e = scenarioError(data);
    expect(e.code).toBe('ERR_LOADTEST_SCENARIO');
    expect(e.message).toContain(`x.json: ${named}`);
  });

  it('refuses a bad gate with ERR_GATE_SYNTAX naming the file, the index and the gate', () => {
    const e = scenarioError({ gates: ['delivery==100%', 'p99 <= quick'] });
    expect(e.code).toBe('ERR_GATE_SYNTAX');
    expect(e.message).toContain('x.json: gates[1]: gate "p99 <= quick"');
  });
});

describe('loadScenario', () => {
  it('names the file when it is missing or not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bugzapp-scenario-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"users": 5,');
    await expect(loadScenario(broken)).rejects.toMatchObject({ code: 'ERR_LOADTEST_SCENARIO', message: expect.stringContaining(`${broken}: not valid JSON`) });
    const missing = join(dir, 'missing.json');
    await expect(loadScenario(missing)).rejects.toMatchObject({ code: 'ERR_LOADTEST_SCENARIO', message: expect.stringContaining(`${missing}: cannot read`) });
  });
});

describe('parseMix', () => {
  it('parses weights and explains errors', () => {
    expect(parseMix('bug_report:70, comment:20,update:10')).toEqual({ mix: { bug_report: 70, comment: 20, update: 10 } });
    expect(parseMix('comment:1,comment:2')).toEqual({ error: '"comment" is given twice' });
    expect(parseMix('')).toHaveProperty('error');
  });
});
