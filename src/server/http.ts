// The REST side (protocol.md section 7) on fastify: bearer auth, FastAPI-shaped 401/404/422 bodies,
// and an event published (and durable) before each 201/200/204 that pushes one. Backends with atomic
// changes (Redis) write a change and its events in one step; otherwise a change whose event cannot be
// published is reverted in the store before the 503, so a 503 has changed nothing.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AuthError, BugzappError } from '../errors.ts';
import {
  ErrorText,
  assignmentNotificationText,
  commentNotificationText,
  jsonDecodeIssue,
  validateBugReportCreate,
  validateBugReportPatch,
  validateCommentCreate,
  verifyToken,
  type ValidationIssue,
} from '../protocol/index.ts';
import type { Backends, StoreChange, UnsequencedEvent } from './backends.ts';
import type { ServerMetrics } from './metrics.ts';

export interface HttpContext {
  backends: Backends;
  metrics: ServerMetrics;
  secret: string;
  issuer: string | undefined;
  audience: string | undefined;
  clock: () => number;
  logger: Logger;
}

/** What a body that is not JSON parses to, so the route can answer 422 like FastAPI does. */
class InvalidJsonBody {
  constructor(readonly message: string) {}
}

function unprocessable(reply: FastifyReply, detail: ValidationIssue[]): FastifyReply {
  return reply.code(422).send({ detail });
}

function notFound(reply: FastifyReply, what = 'Bug report not found'): FastifyReply {
  return reply.code(404).send({ detail: what });
}

/** Parse a path id the way FastAPI's `int` path parameter does; undefined after answering 422. */
function parseId(raw: string, name: string, reply: FastifyReply): number | undefined {
  if (/^[+-]?\d{1,15}$/.test(raw)) return Number(raw);
  void unprocessable(reply, [
    {
      loc: ['path', name],
      msg: 'Input should be a valid integer, unable to parse string as an integer',
      type: 'int_parsing',
      input: raw,
    },
  ]);
  return undefined;
}

export interface HttpApp {
  app: FastifyInstance;
  /**
   * Resolves once no change request is between its store write and its answer. Shutdown waits for
   * this before closing the sockets, so the event of every change answered 2xx reaches them first.
   */
  idle(): Promise<void>;
}

export function buildHttp(ctx: HttpContext): HttpApp {
  const { store, engine, changes } = ctx.backends;
  let changing = 0;
  let idleWaiters: (() => void)[] = [];
  /** Counts a change request while its handler runs (see HttpApp.idle). */
  function tracked<A extends unknown[], R>(handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args) => {
      changing++;
      try {
        return await handler(...args);
      } finally {
        if (--changing === 0) {
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const w of waiters) w();
        }
      }
    };
  }
  const app = Fastify({
    logger: false,
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // every body is tried as JSON whatever its content type; a broken one becomes a 422 in the route
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(null, new InvalidJsonBody((err as Error).message));
    }
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ detail: 'Not Found' }));
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof BugzappError && err.code === 'ERR_BACKEND_UNAVAILABLE') {
      return reply.code(503).send({ detail: `Service unavailable: ${err.message}` });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    return reply.code(status).send({ detail: status === 500 ? 'Internal Server Error' : err.message });
  });

  /** The user of a request, or undefined after answering 401. */
  async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<string | undefined> {
    const h = req.headers.authorization;
    const m = h ? /^bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (!m) {
      void reply.code(401).header('www-authenticate', 'Bearer').send({ detail: ErrorText.NotAuthenticated });
      return undefined;
    }
    try {
      const v = await verifyToken(m[1]!, {
        secret: ctx.secret,
        ...(ctx.issuer ? { issuer: ctx.issuer } : {}),
        ...(ctx.audience ? { audience: ctx.audience } : {}),
        now: Math.floor(ctx.clock() / 1000),
      });
      return v.userId;
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      void reply.code(401).header('www-authenticate', 'Bearer').send({ detail: ErrorText.InvalidToken });
      return undefined;
    }
  }

  /**
   * Publish the event of `change`. When the log cannot take it, the change is reverted in the store
   * first, and the error (503 through the error handler) says whether that worked.
   */
  async function commit(change: StoreChange, event: UnsequencedEvent, target: string | null): Promise<void> {
    try {
      await engine.publish(event, target);
    } catch (err) {
      let reverted = false;
      try {
        reverted = (await store.revert?.(change)) ?? false;
      } catch (revertErr) {
        ctx.logger.error({ err: revertErr, change: change.kind }, 'could not revert an unpublished change');
      }
      ctx.metrics.unpublishedChanges.inc({ outcome: reverted ? 'reverted' : 'kept' });
      const unavailable = err instanceof BugzappError && err.code === 'ERR_BACKEND_UNAVAILABLE';
      const cause = unavailable ? err.message : `event log unavailable (${(err as Error).message})`;
      if (!reverted) ctx.logger.error({ err, change: change.kind }, 'a stored change could not be published nor reverted');
      throw new BugzappError(
        'ERR_BACKEND_UNAVAILABLE',
        `${cause}; ${reverted ? 'nothing was changed' : 'the change was stored but not published'}`,
        { cause: err },
      );
    }
  }

  /**
   * A notification that follows a committed change. Its change is stored and broadcast already, so
   * a log failure here is logged and counted, not answered with a 503 (a retry would repeat the change).
   */
  async function notify(message: string, bugReportId: number, target: string): Promise<void> {
    try {
      await engine.publish({ type: 'notification', payload: { message, bug_report_id: bugReportId } }, target);
    } catch (err) {
      ctx.metrics.unpublishedChanges.inc({ outcome: 'notification_lost' });
      ctx.logger.error({ err, bugReportId, target }, 'notification not published');
    }
  }

  function body(req: FastifyRequest, reply: FastifyReply): { ok: true; value: unknown } | { ok: false } {
    if (req.body instanceof InvalidJsonBody) {
      void unprocessable(reply, jsonDecodeIssue(req.body.message));
      return { ok: false };
    }
    if (req.body === undefined) {
      // what FastAPI answers for a required body that was not sent
      void unprocessable(reply, [{ loc: ['body'], msg: 'Field required', type: 'missing', input: null }]);
      return { ok: false };
    }
    return { ok: true, value: req.body };
  }

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    let ready = false;
    try {
      ready = await engine.isReady();
    } catch {
      ready = false;
    }
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', backend: ctx.backends.kind });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });

  app.post('/bug-reports', tracked(async (req: FastifyRequest, reply: FastifyReply) => {
    const user = await authenticate(req, reply);
    if (user === undefined) return reply;
    const b = body(req, reply);
    if (!b.ok) return reply;
    const v = validateBugReportCreate(b.value);
    if (!v.ok) return unprocessable(reply, v.detail);
    if (changes) return reply.code(201).send(await changes.createBugReport(v.value, user));
    const bug = await store.createBugReport(v.value, user);
    await commit({ kind: 'bug_report_created', bug }, { type: 'bug_report', action: 'created', payload: bug }, null);
    if (bug.assignee_id !== null) await notify(assignmentNotificationText(bug.title), bug.id, bug.assignee_id);
    return reply.code(201).send(bug);
  }));

  app.get('/bug-reports', async (req, reply) => {
    if ((await authenticate(req, reply)) === undefined) return reply;
    return reply.send(await store.listBugReports());
  });

  app.get<{ Params: { id: string } }>('/bug-reports/:id', async (req, reply) => {
    if ((await authenticate(req, reply)) === undefined) return reply;
    const id = parseId(req.params.id, 'bug_id', reply);
    if (id === undefined) return reply;
    const bug = await store.getBugReport(id);
    return bug ? reply.send(bug) : notFound(reply);
  });

  app.patch<{ Params: { id: string } }>('/bug-reports/:id', tracked(async (req, reply) => {
    if ((await authenticate(req, reply)) === undefined) return reply;
    const id = parseId(req.params.id, 'bug_id', reply);
    if (id === undefined) return reply;
    const b = body(req, reply);
    if (!b.ok) return reply;
    const v = validateBugReportPatch(b.value);
    if (!v.ok) return unprocessable(reply, v.detail);
    if (changes) {
      const changed = await changes.updateBugReport(id, v.value);
      return changed ? reply.send(changed.after) : notFound(reply);
    }
    const res = await store.updateBugReport(id, v.value);
    if (!res) return notFound(reply);
    await commit({ kind: 'bug_report_updated', ...res }, { type: 'bug_report', action: 'updated', payload: res.after }, null);
    if (res.after.assignee_id !== null && res.after.assignee_id !== res.before.assignee_id) {
      await notify(assignmentNotificationText(res.after.title), res.after.id, res.after.assignee_id);
    }
    return reply.send(res.after);
  }));

  app.delete<{ Params: { id: string } }>('/bug-reports/:id', tracked(async (req, reply) => {
    if ((await authenticate(req, reply)) === undefined) return reply;
    const id = parseId(req.params.id, 'bug_id', reply);
    if (id === undefined) return reply;
    if (changes) return (await changes.deleteBugReport(id)) ? reply.code(204).send() : notFound(reply);
    const bug = await store.deleteBugReport(id);
    if (!bug) return notFound(reply);
    await commit({ kind: 'bug_report_deleted', bug }, { type: 'bug_report', action: 'deleted', payload: bug }, null);
    return reply.code(204).send();
  }));

  app.post<{ Params: { id: string } }>('/bug-reports/:id/comments', tracked(async (req, reply) => {
    const user = await authenticate(req, reply);
    if (user === undefined) return reply;
    const id = parseId(req.params.id, 'bug_id', reply);
    if (id === undefined) return reply;
    const b = body(req, reply);
    if (!b.ok) return reply;
    const v = validateCommentCreate(b.value);
    if (!v.ok) return unprocessable(reply, v.detail);
    if (changes) {
      const added = await changes.createComment(id, v.value.body, user);
      return added ? reply.code(201).send(added) : notFound(reply);
    }
    const bug = await store.getBugReport(id);
    if (!bug) return notFound(reply);
    const comment = await store.createComment(id, v.value.body, user);
    if (!comment) return notFound(reply);
    await commit({ kind: 'comment_created', comment }, { type: 'comment', action: 'created', payload: comment }, null);
    if (bug.assignee_id !== null && bug.assignee_id !== user) {
      await notify(commentNotificationText(bug.title), bug.id, bug.assignee_id);
    }
    return reply.code(201).send(comment);
  }));

  return {
    app,
    idle: () => (changing === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
  };
}
