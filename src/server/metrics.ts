// Prometheus metrics of one server, in its own Registry so that several servers can run in one process.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export type RefusalReason = 'missing_token' | 'invalid_token' | 'expired_token' | 'bad_path' | 'shutting_down';
export type InvalidReason = 'invalid_format' | 'binary' | 'unknown_type' | 'too_big' | 'protocol_error';

export interface ServerMetrics {
  registry: Registry;
  activeConnections: Gauge;
  /** Messages sent to clients, by type; a broadcast adds its recipient count at once. */
  messagesSent: Counter<'type'>;
  refusedHandshakes: Counter<'reason'>;
  rateLimited: Counter;
  invalidMessages: Counter<'reason'>;
  slowConsumerDisconnects: Counter;
  /** Connections closed with 4009: the instance could not vouch for their live delivery. */
  gapDisconnects: Counter;
  heartbeatTerminations: Counter;
  tokenExpiryCloses: Counter;
  resumes: Counter<'outcome'>;
  /** REST changes whose event the log refused: reverted, kept (stored, unpublished), or a lost notification. */
  unpublishedChanges: Counter<'outcome'>;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    activeConnections: new Gauge({
      name: 'websocket_active_connections',
      help: 'Open WebSocket connections',
      registers,
    }),
    messagesSent: new Counter({
      name: 'websocket_messages_total',
      help: 'Messages sent to WebSocket clients, by type',
      labelNames: ['type'],
      registers,
    }),
    refusedHandshakes: new Counter({
      name: 'websocket_refused_handshakes_total',
      help: 'WebSocket handshakes refused before the upgrade, by reason',
      labelNames: ['reason'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'websocket_rate_limited_messages_total',
      help: 'Client messages dropped by the rate limit',
      registers,
    }),
    invalidMessages: new Counter({
      name: 'websocket_invalid_messages_total',
      help: 'Client frames refused as invalid, by reason',
      labelNames: ['reason'],
      registers,
    }),
    slowConsumerDisconnects: new Counter({
      name: 'websocket_slow_consumer_disconnects_total',
      help: 'Connections closed with 4008 because their unsent bytes passed the limit',
      registers,
    }),
    gapDisconnects: new Counter({
      name: 'websocket_gap_disconnects_total',
      help: 'Connections closed with 4009 because live delivery on this instance may have missed events (log replaced, flushed, or trimmed past the reader)',
      registers,
    }),
    heartbeatTerminations: new Counter({
      name: 'websocket_heartbeat_terminations_total',
      help: 'Connections terminated for not answering a ping',
      registers,
    }),
    tokenExpiryCloses: new Counter({
      name: 'websocket_token_expiry_closes_total',
      help: 'Connections closed with 4001 because their token expired',
      registers,
    }),
    resumes: new Counter({
      name: 'websocket_resumes_total',
      help: 'Connections that asked to resume with since, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    unpublishedChanges: new Counter({
      name: 'rest_unpublished_changes_total',
      help: 'REST changes whose event could not be published, by outcome (reverted, kept, notification_lost)',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
