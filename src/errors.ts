// One catalogue of coded errors. The library throws these; only src/cli maps them to exit codes.

export type BugzappErrorCode =
  // options and usage
  | 'ERR_INVALID_OPTION'
  // authentication
  | 'ERR_AUTH_MISSING_TOKEN'
  | 'ERR_AUTH_INVALID_TOKEN'
  | 'ERR_AUTH_TOKEN_EXPIRED'
  | 'ERR_AUTH_REFUSED'
  // wire protocol
  | 'ERR_PROTOCOL_INVALID_MESSAGE'
  | 'ERR_PROTOCOL_UNKNOWN_TYPE'
  | 'ERR_PROTOCOL_UNSUPPORTED'
  // REST
  | 'ERR_HTTP_STATUS'
  | 'ERR_VALIDATION'
  | 'ERR_NOT_FOUND'
  // client
  | 'ERR_CONNECT_FAILED'
  | 'ERR_RETRIES_EXHAUSTED'
  | 'ERR_RESUME_WINDOW_EXCEEDED'
  | 'ERR_CLOSED'
  // server and engines
  | 'ERR_BACKEND_UNAVAILABLE'
  | 'ERR_SERVER_CLOSED'
  // load tester
  | 'ERR_LOADTEST_TARGET'
  | 'ERR_LOADTEST_SCENARIO'
  | 'ERR_LOADTEST_REPORT'
  | 'ERR_GATE_SYNTAX'
  | 'ERR_ABORTED'
  | 'ERR_TIMEOUT'
  | 'ERR_LOADTEST_WORKER'
  | 'ERR_LOADTEST_SHARD';

export class BugzappError extends Error {
  readonly code: BugzappErrorCode;

  constructor(code: BugzappErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad option or flag value. `option` names it the way the user wrote it (`--rate-limit`, `port`). */
export class InvalidOptionError extends BugzappError {
  readonly option: string;

  constructor(option: string, message: string) {
    super('ERR_INVALID_OPTION', `${option}: ${message}`);
    this.option = option;
  }
}

export class AuthError extends BugzappError {
  constructor(
    code: 'ERR_AUTH_MISSING_TOKEN' | 'ERR_AUTH_INVALID_TOKEN' | 'ERR_AUTH_TOKEN_EXPIRED' | 'ERR_AUTH_REFUSED',
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

export class ProtocolError extends BugzappError {
  constructor(
    code: 'ERR_PROTOCOL_INVALID_MESSAGE' | 'ERR_PROTOCOL_UNKNOWN_TYPE' | 'ERR_PROTOCOL_UNSUPPORTED',
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** A REST answer outside 2xx. `detail` is the server's `detail` field, when it sent one. */
export class HttpStatusError extends BugzappError {
  readonly status: number;
  readonly detail: unknown;

  constructor(status: number, detail: unknown, message?: string) {
    super('ERR_HTTP_STATUS', message ?? `HTTP ${status}: ${formatDetail(detail)}`);
    this.status = status;
    this.detail = detail;
  }
}

/** The protocol client's failures. `closeCode` is the WebSocket close code that ended it, when one did. */
export class ClientError extends BugzappError {
  readonly closeCode: number | undefined;

  constructor(
    code: 'ERR_CONNECT_FAILED' | 'ERR_RETRIES_EXHAUSTED' | 'ERR_RESUME_WINDOW_EXCEEDED' | 'ERR_CLOSED',
    message: string,
    options?: ErrorOptions & { closeCode?: number },
  ) {
    super(code, message, options);
    this.closeCode = options?.closeCode;
  }
}

export function formatDetail(detail: unknown): string {
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        if (d && typeof d === 'object' && 'msg' in d) {
          const loc = Array.isArray((d as { loc?: unknown }).loc) ? (d as { loc: unknown[] }).loc.join('.') : '';
          return loc ? `${loc}: ${String((d as { msg: unknown }).msg)}` : String((d as { msg: unknown }).msg);
        }
        return JSON.stringify(d);
      })
      .join('; ');
  }
  return detail === undefined ? '(no detail)' : JSON.stringify(detail);
}

export function isBugzappError(err: unknown): err is BugzappError {
  return err instanceof BugzappError;
}
