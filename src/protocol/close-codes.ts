// WebSocket close codes of protocol.md section 5, and what a client should do on each.

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  /** A frame that breaks RFC 6455 (bad opcode, unmasked client frame...). */
  ProtocolError: 1002,
  /** A text frame that is not valid UTF-8. */
  InvalidPayload: 1007,
  /** Not sent by the reference server; another server may send it for a refused client. */
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  TokenExpired: 4001,
  SlowConsumer: 4008,
  /**
   * The server cannot vouch that this connection received every event (its event log was replaced or
   * flushed, or live delivery fell behind what the log keeps): reconnect with `since`, and the resume
   * either replays the events or answers "Resume window exceeded".
   */
  DeliveryGap: 4009,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

export type CloseAdvice =
  /** Reconnect (to any instance) and resume with `since`. */
  | 'reconnect'
  /** Reconnect with a freshly minted token, then resume. */
  | 'reconnect-new-token'
  /** Do not reconnect: the server refuses what this client does. */
  | 'stop';

/** What protocol.md tells a client to do after a close with `code`. */
export function adviseOnClose(code: number): CloseAdvice {
  switch (code) {
    case CloseCode.TokenExpired:
      return 'reconnect-new-token';
    case CloseCode.ProtocolError:
    case CloseCode.InvalidPayload:
    case CloseCode.PolicyViolation:
    case CloseCode.MessageTooBig:
      return 'stop';
    default:
      return 'reconnect';
  }
}

export function describeCloseCode(code: number): string {
  switch (code) {
    case CloseCode.Normal:
      return 'normal closure';
    case CloseCode.GoingAway:
      return 'server going away';
    case CloseCode.ProtocolError:
      return 'protocol error';
    case CloseCode.InvalidPayload:
      return 'invalid UTF-8 in a text frame';
    case CloseCode.PolicyViolation:
      return 'policy violation';
    case CloseCode.MessageTooBig:
      return 'message too big';
    case CloseCode.InternalError:
      return 'internal server error';
    case CloseCode.TokenExpired:
      return 'token expired';
    case CloseCode.SlowConsumer:
      return 'slow consumer';
    case CloseCode.DeliveryGap:
      return 'delivery gap (resume to learn what was missed)';
    case 1005:
      return 'no status';
    case 1006:
      return 'abnormal closure (connection lost)';
    default:
      return `code ${code}`;
  }
}
