// resolveServeOptions: defaults, and an InvalidOptionError naming the option for each bad value.
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.ts';
import { DEV_SECRET } from '../../src/protocol/index.ts';
import { createServer, resolveServeOptions, type ServeOptions } from '../../src/server/index.ts';
import { startTestServer } from '../helpers/server.ts';

describe('resolveServeOptions', () => {
  it('fills the documented defaults', () => {
    const o = resolveServeOptions({});
    expect(o).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      secret: DEV_SECRET,
      devSecret: true,
      rateLimit: { max: 10, windowMs: 1000 },
      maxPayload: 65536,
      history: 10000,
      slowConsumerLimit: 1048576,
      heartbeatIntervalMs: 30000,
    });
    expect(resolveServeOptions({ secret: 's' }).devSecret).toBe(false);
  });

  const bad: [ServeOptions, string][] = [
    [{ port: -1 }, 'port'],
    [{ port: 65536 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ host: '' }, 'host'],
    [{ secret: '' }, 'secret'],
    [{ rateLimit: { max: 0, windowMs: 1000 } }, 'rateLimit.max'],
    [{ rateLimit: { max: 1, windowMs: 0 } }, 'rateLimit.windowMs'],
    [{ maxPayload: 0 }, 'maxPayload'],
    [{ history: 0 }, 'history'],
    [{ slowConsumerLimit: -5 }, 'slowConsumerLimit'],
    [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs'],
    [{ redisUrl: 'localhost:6379' }, 'redisUrl'],
  ];
  for (const [input, option] of bad) {
    it(`names ${option} for ${JSON.stringify(input)}`, () => {
      let caught: unknown;
      try {
        resolveServeOptions(input);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(InvalidOptionError);
      expect((caught as InvalidOptionError).option).toBe(option);
      expect((caught as InvalidOptionError).code).toBe('ERR_INVALID_OPTION');
    });
  }

  it('refuses a port that is taken, naming the port', async () => {
    const first = await startTestServer();
    await expect(createServer({ port: first.port, secret: 's' })).rejects.toMatchObject({ option: 'port' });
  });
});
