// A decoder for many connections in one thread that receive the same frames: a broadcast reaches
// every socket as the same bytes, so the frame is parsed once and the one (frozen) message is handed
// to each connection. Same bytes, same JSON.parse result: the client's semantics do not change. Used
// by the load tester (BugzappClientOptions.decode); a single `listen` client has no use for it.
import { decodeServerMessage, type ServerMessage } from '../protocol/index.ts';

export type FrameDecoder = (data: Buffer) => ServerMessage | undefined;

/**
 * Remembers the last `size` frames decoded (copies of their bytes) and their messages. Several are
 * kept because one socket read can hold a few frames: sockets behind by one or two broadcasts
 * interleave them. Looked up newest first, where nearly every hit is.
 */
export function createSharedDecoder(size = 32): FrameDecoder {
  const bytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(size);
  const msgs: (ServerMessage | undefined)[] = new Array<ServerMessage | undefined>(size);
  let head = 0;
  return (data) => {
    const len = data.length;
    for (let k = 0, i = head; k < size; k++) {
      i = i === 0 ? size - 1 : i - 1;
      const b = bytes[i];
      if (b === undefined) break;
      if (b.length === len && b.equals(data)) return msgs[i];
    }
    // throws ProtocolError for a bad frame, as decodeServerMessage does; nothing is remembered then
    const msg = decodeServerMessage(data);
    bytes[head] = Buffer.from(data);
    msgs[head] = msg === undefined ? undefined : deepFreeze(msg);
    head = head + 1 === size ? 0 : head + 1;
    return msg;
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
