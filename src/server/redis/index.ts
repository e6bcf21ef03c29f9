// Placeholder until the Redis engine lands (issue 5): the signature the server wires `--redis` to.
import { BugzappError } from '../../errors.ts';
import type { Backends } from '../backends.ts';
import type { Logger } from 'pino';

export interface RedisBackendsOptions {
  /** redis://host:port */
  url: string;
  /** Events kept in the stream (XADD MAXLEN ~). */
  history: number;
  rateLimit: { max: number; windowMs: number };
  logger: Logger;
}

export async function createRedisBackends(_options: RedisBackendsOptions): Promise<Backends> {
  throw new BugzappError('ERR_BACKEND_UNAVAILABLE', 'the Redis engine is not built yet');
}
