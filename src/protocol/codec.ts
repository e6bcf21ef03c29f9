// The one way messages enter and leave: encode() for everything sent, decode*() with validation for
// everything received. Nothing else builds or parses protocol JSON by hand.
import { ProtocolError } from '../errors.ts';
import {
  CLIENT_MESSAGE_TYPES,
  ErrorCode,
  ErrorText,
  type ClientMessage,
  type ServerMessage,
  SERVER_MESSAGE_TYPES,
} from './messages.ts';

export type Encodable = ServerMessage | ClientMessage;

/** Serialize one message to the text of a WebSocket frame. */
export function encode(msg: Encodable): string {
  return JSON.stringify(msg);
}

/**
 * Serialize one message to UTF-8 bytes, for fan-out: encode once, hand the same buffer to every socket.
 */
export function encodeToBuffer(msg: Encodable): Buffer {
  return Buffer.from(JSON.stringify(msg), 'utf8');
}

export type ClientDecodeResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; kind: 'invalid_format'; error: string; code: typeof ErrorCode.InvalidMessage }
  | { ok: false; kind: 'unknown_type'; type: string; error: string; code: typeof ErrorCode.UnknownType };

function parseObject(data: string | Buffer): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

/**
 * Validate a frame a client sent (protocol.md section 5). Never throws: the server answers each
 * failure with the `error` text given here and keeps the connection.
 */
export function decodeClientMessage(data: string | Buffer): ClientDecodeResult {
  const obj = parseObject(data);
  if (!obj || typeof obj.type !== 'string') {
    return { ok: false, kind: 'invalid_format', error: ErrorText.InvalidMessageFormat, code: ErrorCode.InvalidMessage };
  }
  if (!(CLIENT_MESSAGE_TYPES as readonly string[]).includes(obj.type)) {
    return { ok: false, kind: 'unknown_type', type: obj.type, error: ErrorText.unknownType(obj.type), code: ErrorCode.UnknownType };
  }
  return { ok: true, message: obj as unknown as ClientMessage };
}

const KNOWN_SERVER_TYPES: ReadonlySet<string> = new Set(SERVER_MESSAGE_TYPES);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Parse a frame a server sent. Throws ProtocolError (ERR_PROTOCOL_INVALID_MESSAGE) when the frame is
 * not a JSON object with a string `type`, or a known type lacks the fields protocol.md requires.
 * Returns `undefined` for a type this protocol version does not know: clients ignore those.
 * Extra fields are kept and ignored. A numeric `seq` (some backends) is normalised to a string.
 */
export function decodeServerMessage(data: string | Buffer): ServerMessage | undefined {
  const obj = parseObject(data);
  if (!obj || typeof obj.type !== 'string') {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_MESSAGE', 'server frame is not a JSON object with a "type"');
  }
  if (!KNOWN_SERVER_TYPES.has(obj.type)) return undefined;
  switch (obj.type) {
    case 'bug_report':
    case 'comment':
      if (typeof obj.action !== 'string' || !isObject(obj.payload)) {
        throw new ProtocolError('ERR_PROTOCOL_INVALID_MESSAGE', `${obj.type} event without action or payload`);
      }
      break;
    case 'notification':
      if (!isObject(obj.payload)) {
        throw new ProtocolError('ERR_PROTOCOL_INVALID_MESSAGE', 'notification without payload');
      }
      break;
    case 'error':
      if (!isObject(obj.payload) || typeof obj.payload.message !== 'string') {
        throw new ProtocolError('ERR_PROTOCOL_INVALID_MESSAGE', 'error message without payload.message');
      }
      break;
    default:
      break;
  }
  if (typeof obj.seq === 'number') obj.seq = String(obj.seq);
  return obj as unknown as ServerMessage;
}
