// The message unions of protocol.md sections 3 to 5. Server, client and load tester share these.
import type { BugReport, Comment } from './rest.ts';

export type EventAction = 'created' | 'updated' | 'deleted';

export interface RateLimitInfo {
  max: number;
  window_ms: number;
}

export interface ConnectionEstablished {
  type: 'connection_established';
  /** Only `type` is required of a backend (the guide's server sends nothing else). */
  payload?: {
    user_id?: string;
    connection_id?: string;
    server_time?: string;
    rate_limit?: RateLimitInfo;
    /** The `seq` of the newest event at connect time. */
    cursor?: string;
    /** Largest client frame in bytes; a bigger one closes the connection with 1009 (protocol 1.1). */
    max_message_bytes?: number;
    /** Events the server keeps for resume: a `since` more than this many events back is too old (protocol 1.1). */
    history_size?: number;
    /**
     * The server's heartbeat interval in ms: it sends a frame (a ping at least) at least this often,
     * so a client that hears nothing for longer (plus a grace) takes the connection as lost.
     */
    heartbeat_ms?: number;
  };
}

export interface BugReportEvent {
  type: 'bug_report';
  action: EventAction;
  payload: BugReport;
  seq?: string;
}

export interface CommentEvent {
  type: 'comment';
  action: EventAction;
  payload: Comment;
  seq?: string;
}

export interface NotificationPayload {
  message: string;
  bug_report_id: number;
}

export interface NotificationEvent {
  type: 'notification';
  payload: NotificationPayload;
  seq?: string;
}

export interface ErrorMessage {
  type: 'error';
  /** `code` is machine-readable (protocol 1.1); `message` is for people. */
  payload: { message: string; code?: ErrorCodeValue; oldest?: string };
}

export interface PongMessage {
  type: 'pong';
}

/** Events that carry a `seq` and live in the server's event log. */
export type LoggedEvent = BugReportEvent | CommentEvent | NotificationEvent;
export type LoggedEventType = LoggedEvent['type'];

export type ServerMessage = ConnectionEstablished | LoggedEvent | ErrorMessage | PongMessage;
export type ServerMessageType = ServerMessage['type'];

export interface PingMessage {
  type: 'ping';
}

export type ClientMessage = PingMessage;
export type ClientMessageType = ClientMessage['type'];

export const LOGGED_EVENT_TYPES: readonly LoggedEventType[] = ['bug_report', 'comment', 'notification'];
export const SERVER_MESSAGE_TYPES: readonly ServerMessageType[] = [
  'connection_established',
  'bug_report',
  'comment',
  'notification',
  'error',
  'pong',
];
export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = ['ping'];

/** The exact error texts of protocol.md; clients match on these. */
export const ErrorText = {
  InvalidMessageFormat: 'Invalid message format',
  RateLimitExceeded: 'Rate limit exceeded',
  ResumeWindowExceeded: 'Resume window exceeded',
  NotAuthenticated: 'Not authenticated',
  InvalidToken: 'Invalid authentication token',
  unknownType: (type: string) => `Unknown message type: ${type}`,
} as const;

/** The machine-readable `code` of every error payload (protocol.md section 5). Clients switch on these. */
export const ErrorCode = {
  InvalidMessage: 'invalid_message',
  UnknownType: 'unknown_type',
  RateLimited: 'rate_limited',
  ResumeWindowExceeded: 'resume_window_exceeded',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export function isLoggedEvent(msg: ServerMessage): msg is LoggedEvent {
  return msg.type === 'bug_report' || msg.type === 'comment' || msg.type === 'notification';
}
