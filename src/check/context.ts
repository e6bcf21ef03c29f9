// What a case works with: users of its own, tokens minted by src/protocol, the REST client of
// src/client, raw WebSockets (wire.ts) and raw HTTP for status codes, all closed when the case ends.
import { randomBytes } from 'node:crypto';
import { loadUndici } from '../client/undici.ts';
import { createRestClient, resolveHttpBase, resolveWsUrl, type RestClient } from '../client/index.ts';
import { BugzappError } from '../errors.ts';
import { mintToken, type BugReport, type ConnectionEstablished, type ServerMessage, type TokenFlavour } from '../protocol/index.ts';
import { openWire, type Handshake, type WireConn } from './wire.ts';

export type Advertised = NonNullable<ConnectionEstablished['payload']>;

/**
 * Thrown when the server fails a step a case needs before it gets to its rule (a POST answered 500, a
 * handshake refused, no answer in time): that is the server's failure, so the case fails with it.
 */
export class ServerStepError extends Error {}

/** Thrown by a case when the harness cannot do its part (no secret to mint with): the case is `error`. */
export class HarnessError extends BugzappError {
  constructor(message: string) {
    super('ERR_INVALID_OPTION', message);
  }
}

export interface HttpAnswer {
  status: number;
  text: string;
  /** Parsed JSON body, undefined when there is none or it is not JSON. */
  json: unknown;
  contentType: string;
}

/** Shared by every case of one run. */
export class CheckRun {
  readonly wsUrl: string;
  readonly origin: string;
  readonly prefix: string;
  readonly rest: RestClient;
  readonly tag = randomBytes(3).toString('hex');
  private users = 0;
  /** The `sub` of the given token, when there is no secret to mint with. */
  readonly tokenSub: string | undefined;
  private advertisedOnce: Promise<Advertised | undefined> | undefined;

  constructor(
    readonly url: string,
    readonly secret: string | undefined,
    readonly token: string | undefined,
    readonly waitMs: number,
  ) {
    this.wsUrl = resolveWsUrl(url);
    ({ origin: this.origin, prefix: this.prefix } = resolveHttpBase(url));
    this.rest = createRestClient({ url, connections: 8, headersTimeout: waitMs });
    this.tokenSub = token !== undefined ? subOf(token) : undefined;
  }

  nextUser(label: string): string {
    return `chk-${this.tag}-${++this.users}-${label}`;
  }

  /** A user for the run's own probe: a fresh one, or the token's. */
  probeUser(): string {
    return this.secret !== undefined ? this.nextUser('probe') : (this.tokenSub ?? 'unknown');
  }

  /** connection_established.payload of a connection opened once per run (undefined: none came). */
  advertised(ctx: CheckContext): Promise<Advertised | undefined> {
    this.advertisedOnce ??= (async () => {
      const h = await ctx.openAs(this.probeUser());
      if (h.kind !== 'open') return undefined;
      const first = await h.conn.waitFor(() => true, this.waitMs);
      await h.conn.close();
      return first?.type === 'connection_established' ? (first.payload ?? {}) : undefined;
    })();
    return this.advertisedOnce;
  }

  close(): Promise<void> {
    return this.rest.close();
  }
}

/** One case's view: what it opens is closed when it ends. */
export class CheckContext {
  private readonly conns: WireConn[] = [];

  constructor(
    readonly run: CheckRun,
    readonly signal: AbortSignal,
    /** Stops the server under test: only destructive cases get it. */
    readonly stop?: () => Promise<void>,
  ) {}

  get waitMs(): number {
    return this.run.waitMs;
  }

  private tokenUserTaken = false;

  /**
   * A fresh user of this run. With only a ready token (no secret) there is exactly one user, the
   * token's `sub`: a case that needs a second one cannot run.
   */
  user(label: string): string {
    if (this.run.secret !== undefined) return this.run.nextUser(label);
    if (this.tokenUserTaken) throw new HarnessError('needs --secret: this case acts as more than one user');
    this.tokenUserTaken = true;
    return this.run.tokenSub ?? 'unknown';
  }

  /** A token of `flavour` for `userId`, minted with the run's secret. */
  async token(userId: string, opts: { flavour?: TokenFlavour; ttlSeconds?: number } = {}): Promise<string> {
    const flavour = opts.flavour ?? 'valid';
    // a wrong signature or alg none need no secret of the server's
    if (this.run.secret === undefined && flavour !== 'bad-signature' && flavour !== 'alg-none') {
      if (flavour === 'valid' && this.run.token !== undefined && opts.ttlSeconds === undefined) return this.run.token;
      throw new HarnessError(`needs --secret to mint a ${flavour} token`);
    }
    return mintToken({ userId, secret: this.run.secret ?? 'bugzapp-check-unknown-secret', flavour, ...(opts.ttlSeconds ? { ttlSeconds: opts.ttlSeconds } : {}) });
  }

  /** Open a raw WebSocket; `token` null sends none. */
  async open(token: string | null, query: Record<string, string> = {}): Promise<Handshake> {
    const u = new URL(this.run.wsUrl);
    if (token !== null) u.searchParams.set('token', token);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    const h = await openWire(u.toString(), this.waitMs);
    if (h.kind === 'open') this.conns.push(h.conn);
    return h;
  }

  /** Open as `userId` with a valid token. */
  async openAs(userId: string, query: Record<string, string> = {}): Promise<Handshake> {
    return this.open(await this.token(userId), query);
  }

  /** Open as `userId` and wait for connection_established; throws a HarnessError-free Error otherwise. */
  async connect(userId: string, query: Record<string, string> = {}): Promise<WireConn> {
    const h = await this.openAs(userId, query);
    if (h.kind === 'refused') throw new ServerStepError(`a valid token's handshake was refused: HTTP ${h.status} ${h.text}`);
    if (h.kind === 'failed') throw new ServerStepError(`the handshake failed: ${h.error}`);
    const first = await h.conn.waitFor(() => true, this.waitMs);
    if (!first) throw new ServerStepError(`no message within ${this.waitMs} ms of the upgrade`);
    return h.conn;
  }

  /** One raw HTTP request (status codes and bodies as they are). */
  async http(method: string, path: string, opts: { token?: string; body?: unknown; rawBody?: string } = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined || opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = opts.rawBody ?? JSON.stringify(opts.body);
    }
    const deadline = AbortSignal.timeout(this.waitMs);
    let res;
    let text: string;
    try {
      res = await loadUndici().request(this.run.origin + this.run.prefix + path, {
        method: method as 'GET',
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.any([this.signal, deadline]),
      });
      text = await res.body.text();
    } catch (err) {
      if (this.signal.aborted) throw err;
      const why = deadline.aborted ? `no answer within ${this.waitMs} ms` : err instanceof Error ? err.message : String(err);
      throw new ServerStepError(`${method} ${path}: ${why}`);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const ct = res.headers['content-type'];
    return { status: res.statusCode, text, json, contentType: Array.isArray(ct) ? ct.join(',') : (ct ?? '') };
  }

  /**
   * Whether the server has no `method` on /bug-reports/{id} at all (405 Method Not Allowed on a report
   * that does not exist), asked before a case creates its data, so that a server without PATCH or
   * DELETE is reported unsupported even when its POST is what fails. Undefined when it has it.
   */
  async methodAbsent(method: 'PATCH' | 'DELETE', userId: string): Promise<string | undefined> {
    const r = await this.http(method, '/bug-reports/0', { token: await this.token(userId), ...(method === 'PATCH' ? { body: { status: 'open' } } : {}) });
    return r.status === 405 ? `${method} answered 405` : undefined;
  }

  /** POST /bug-reports/ as `userId`; throws when the server does not answer 201 with a report. */
  async createReport(userId: string, body: { title: string; assignee_id?: string; description?: string }): Promise<BugReport> {
    const r = await this.http('POST', '/bug-reports/', { token: await this.token(userId), body });
    if (r.status !== 201 && r.status !== 200) throw new ServerStepError(`POST /bug-reports/ answered ${r.status}: ${r.text.slice(0, 120)}`);
    const report = r.json as BugReport;
    if (!report || typeof report.id !== 'number') throw new ServerStepError(`POST /bug-reports/ answered without an id: ${r.text.slice(0, 120)}`);
    return report;
  }

  title(what: string): string {
    return `bugzapp check ${this.run.tag} ${what} ${randomBytes(2).toString('hex')}`;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.close()));
  }
}

/** The `sub` claim of a JWT, read without verifying it (the server verifies; we only need the name). */
function subOf(token: string): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof claims.sub === 'string' || typeof claims.sub === 'number' ? String(claims.sub) : undefined;
  } catch {
    return undefined;
  }
}

export function isBugCreated(title: string) {
  return (m: ServerMessage): boolean => m.type === 'bug_report' && m.action === 'created' && m.payload.title === title;
}

export function seqOf(m: ServerMessage | undefined): string | undefined {
  return m && 'seq' in m && typeof m.seq === 'string' ? m.seq : undefined;
}

/** Short JSON for `observed`. */
export function brief(v: unknown, max = 160): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (s === undefined) return 'nothing';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
