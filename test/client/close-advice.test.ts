// What a client does after each close code of protocol.md section 5.
import { describe, expect, it } from 'vitest';
import { adviseOnClose, CloseCode } from '../../src/protocol/index.ts';

describe('adviseOnClose', () => {
  it('resumes after a delivery gap (4009), a shutdown and a slow-consumer close; stops after what the client broke', () => {
    expect(adviseOnClose(CloseCode.DeliveryGap)).toBe('reconnect');
    expect(adviseOnClose(CloseCode.GoingAway)).toBe('reconnect');
    expect(adviseOnClose(CloseCode.SlowConsumer)).toBe('reconnect');
    expect(adviseOnClose(1006)).toBe('reconnect');
    expect(adviseOnClose(CloseCode.TokenExpired)).toBe('reconnect-new-token');
    for (const code of [1002, 1007, 1008, 1009]) expect(adviseOnClose(code)).toBe('stop');
  });
});
