import { describe, expect, it } from 'vitest';
import { decodeClientMessage, decodeServerMessage, encode, ErrorText } from '../../src/protocol/index.ts';

describe('protocol codec', () => {
  it('answers a frame that is not a JSON object as an invalid format', () => {
    for (const frame of ['nope', '[1,2]', '42', 'null', '{"no":"type"}']) {
      const r = decodeClientMessage(frame);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toBe(ErrorText.InvalidMessageFormat);
    }
  });
  it('names an unknown type', () => {
    const r = decodeClientMessage(encode({ type: 'pong' }));
    expect(r).toMatchObject({ ok: false, kind: 'unknown_type', type: 'pong' });
  });
  it('accepts a ping', () => {
    expect(decodeClientMessage('{"type":"ping"}')).toEqual({ ok: true, message: { type: 'ping' } });
  });
});

describe('decodeServerMessage', () => {
  it('ignores unknown types and keeps extra fields', () => {
    expect(decodeServerMessage('{"type":"presence","who":"x"}')).toBeUndefined();
    expect(decodeServerMessage('{"type":"pong","extra":1}')).toEqual({ type: 'pong', extra: 1 });
  });
  it('normalises a numeric seq to a string', () => {
    const msg = decodeServerMessage('{"type":"notification","payload":{"message":"m","bug_report_id":1},"seq":7}');
    expect(msg).toMatchObject({ seq: '7' });
  });
  it('throws a coded error for frames that are not protocol messages', () => {
    for (const frame of ['x', '[]', '{"type":"bug_report","payload":{}}', '{"type":"error","payload":{}}']) {
      expect(() => decodeServerMessage(frame)).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL_INVALID_MESSAGE' }));
    }
  });
});
