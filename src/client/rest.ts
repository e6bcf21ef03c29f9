// The REST client of protocol.md section 7: one keep-alive undici Pool per base URL, a bearer token per
// request, non-2xx answers as HttpStatusError carrying the server's `detail`.
import type { Pool } from 'undici';
import { loadUndici } from './undici.ts';
import { ClientError, HttpStatusError, InvalidOptionError } from '../errors.ts';
import {
  RestPath,
  type BugReport,
  type BugReportCreate,
  type BugReportPatch,
  type Comment,
  type CommentCreate,
} from '../protocol/index.ts';
import type { TokenProvider } from './client.ts';
import { resolveHttpBase } from './url.ts';

export interface RestClientOptions {
  /** http(s):// base URL of the server (a ws(s):// one is accepted too). */
  url: string;
  /** Bearer token for every request. Give this, `tokenProvider`, or neither (no Authorization header). */
  token?: string;
  /** Called per request (mint per user, refresh before expiry). */
  tokenProvider?: TokenProvider;
  /** Keep-alive connections in the pool. @default 16 */
  connections?: number;
  /** Requests pipelined per connection. @default 1 */
  pipelining?: number;
  /** Ms to wait for response headers. @default 30000 */
  headersTimeout?: number;
}

export interface RequestOptions {
  /** A bearer token for this request only (e.g. posting as another user). */
  token?: string;
  signal?: AbortSignal;
}

export interface HealthStatus {
  status: string;
  [key: string]: unknown;
}

export function createRestClient(options: RestClientOptions): RestClient {
  return new RestClient(options);
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export class RestClient {
  readonly origin: string;
  private readonly prefix: string;
  private readonly pool: Pool;
  private readonly token: TokenProvider | undefined;
  private closed = false;

  constructor(options: RestClientOptions) {
    const { origin, prefix } = resolveHttpBase(options.url);
    this.origin = origin;
    this.prefix = prefix;
    if (options.token !== undefined && options.tokenProvider !== undefined) {
      throw new InvalidOptionError('token', 'give either token or tokenProvider, not both');
    }
    const t = options.token;
    this.token = options.tokenProvider ?? (t ? () => t : undefined);
    const connections = options.connections ?? 16;
    if (!Number.isInteger(connections) || connections < 1) {
      throw new InvalidOptionError('connections', `expected an integer >= 1, got ${String(connections)}`);
    }
    this.pool = new (loadUndici().Pool)(origin, {
      connections,
      pipelining: options.pipelining ?? 1,
      headersTimeout: options.headersTimeout ?? 30_000,
    });
  }

  createBugReport(body: BugReportCreate, opts?: RequestOptions): Promise<BugReport> {
    return this.request<BugReport>('POST', `${RestPath.bugReports}/`, body, opts);
  }

  updateBugReport(id: number | string, patch: BugReportPatch, opts?: RequestOptions): Promise<BugReport> {
    return this.request<BugReport>('PATCH', RestPath.bugReport(id), patch, opts);
  }

  /** Resolves once the server answered 204 (or any 2xx). */
  async deleteBugReport(id: number | string, opts?: RequestOptions): Promise<void> {
    await this.request<unknown>('DELETE', RestPath.bugReport(id), undefined, opts);
  }

  createComment(bugReportId: number | string, body: CommentCreate, opts?: RequestOptions): Promise<Comment> {
    return this.request<Comment>('POST', `${RestPath.comments(bugReportId)}/`, body, opts);
  }

  listBugReports(opts?: RequestOptions): Promise<BugReport[]> {
    return this.request<BugReport[]>('GET', `${RestPath.bugReports}/`, undefined, opts);
  }

  getBugReport(id: number | string, opts?: RequestOptions): Promise<BugReport> {
    return this.request<BugReport>('GET', RestPath.bugReport(id), undefined, opts);
  }

  health(opts?: RequestOptions): Promise<HealthStatus> {
    return this.request<HealthStatus>('GET', RestPath.healthz, undefined, opts);
  }

  /**
   * One request. Resolves with the parsed JSON body (undefined for an empty one); throws HttpStatusError
   * for a non-2xx answer and ClientError ERR_CONNECT_FAILED when the server cannot be reached.
   */
  async request<T>(method: Method, path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    if (this.closed) throw new ClientError('ERR_CLOSED', 'the REST client is closed');
    const headers: Record<string, string> = { accept: 'application/json' };
    let token = opts.token;
    if (token === undefined && this.token) {
      const t = this.token();
      token = typeof t === 'string' ? t : await t;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      // REST bodies are plain resource objects (protocol.md section 7), not WebSocket messages
      payload = JSON.stringify(body);
    }
    let res;
    try {
      res = await this.pool.request({
        method,
        path: this.prefix + path,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new ClientError('ERR_CONNECT_FAILED', `${method} ${this.origin}${this.prefix}${path} failed: ${describe(err)}`, {
        cause: err,
      });
    }
    const text = await res.body.text();
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const detail =
        parsed !== null && typeof parsed === 'object' && 'detail' in parsed ? (parsed as { detail: unknown }).detail : parsed;
      throw new HttpStatusError(res.statusCode, detail);
    }
    return parsed as T;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    const causeText = cause instanceof Error && cause.message !== err.message ? ` (${cause.message})` : '';
    return `${err.message}${typeof code === 'string' ? ` [${code}]` : ''}${causeText}`;
  }
  return String(err);
}
