// The load tester's shared decoder: the same bytes give the one decoded message, anything else is
// decoded as decodeServerMessage does (bad frames throw the same error, nothing is remembered).
import { describe, expect, it } from 'vitest';
import { createSharedDecoder } from '../../src/client/shared-decode.ts';
import { ProtocolError } from '../../src/errors.ts';
import { decodeServerMessage, encode } from '../../src/protocol/index.ts';

const report = (id: number, title: string) => ({
  id,
  title,
  description: '',
  severity: 'medium' as const,
  status: 'open' as const,
  assignee_id: null,
  reporter_id: '1',
  created_at: 't',
  updated_at: 't',
});
const frame = (id: number, title = `r${id}`, seq?: string): Buffer =>
  Buffer.from(encode({ type: 'bug_report', action: 'created', payload: report(id, title), ...(seq !== undefined ? { seq } : {}) }));

describe('createSharedDecoder', () => {
  it('hands out one decoded message for the same bytes, from separate buffers, interleaved', () => {
    const decode = createSharedDecoder(4);
    const a = decode(frame(1));
    const b = decode(frame(2));
    expect(decode(frame(1))).toBe(a);
    expect(decode(frame(2))).toBe(b);
    expect(a).not.toBe(b);
    expect(a).toEqual(decodeServerMessage(frame(1)));
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('decodes afresh when any byte differs (a different seq or title of the same length)', () => {
    const decode = createSharedDecoder();
    const a = decode(frame(1, 'aaaa', '10'));
    const b = decode(frame(1, 'aaab', '10'));
    const c = decode(frame(1, 'aaaa', '11'));
    expect(b).not.toBe(a);
    expect(c).not.toBe(a);
    expect(b).toEqual(decodeServerMessage(frame(1, 'aaab', '10')));
    expect(c).toEqual(decodeServerMessage(frame(1, 'aaaa', '11')));
  });

  it('forgets the oldest beyond its size, and still decodes it right', () => {
    const decode = createSharedDecoder(2);
    const a = decode(frame(1));
    decode(frame(2));
    decode(frame(3));
    const again = decode(frame(1));
    expect(again).not.toBe(a);
    expect(again).toEqual(a);
  });

  it('throws what decodeServerMessage throws for a bad frame, every time, and keeps unknown types undefined', () => {
    const decode = createSharedDecoder();
    const bad = Buffer.from('{"type":"bug_report","payload":1}');
    expect(() => decode(bad)).toThrow(ProtocolError);
    expect(() => decode(bad)).toThrow(ProtocolError);
    expect(() => decode(Buffer.from('not json'))).toThrow(ProtocolError);
    expect(decode(Buffer.from('{"type":"from_the_future"}'))).toBeUndefined();
    expect(decode(Buffer.from('{"type":"from_the_future"}'))).toBeUndefined();
  });
});
