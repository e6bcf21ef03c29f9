// The receiving side of the bench: N WebSocket connections spread over worker threads, so the client
// is not the bottleneck (and reports whether it was: event-loop utilisation and lag per worker).
import { Worker } from 'node:worker_threads';
import { mintTokenSync } from '../src/protocol/index.ts';
import { mergeEncoded, summarize, type LatencySummary } from './histogram.ts';

export interface WorkerInit {
  wsUrls: string[];
  tokens: string[];
  localAddresses: string[];
  addressOffset: number;
  concurrency: number;
  connectTimeoutMs: number;
  client: ClientKind;
  /** Report ids 1..idCapacity are checked for duplicates per connection. */
  idCapacity: number;
}

/** `raw`: the bench's lean receive-only client (src/client/lean-transport.ts); `ws`: the ws library's client. */
export type ClientKind = 'raw' | 'ws';

export interface WorkerReport {
  connections: number;
  received: number;
  minPerConnection: number;
  maxPerConnection: number;
  /** receipts of an id the connection already had */
  duplicates: number;
  /** receipts whose id was past idCapacity (not checked for duplicates) */
  unchecked: number;
  /** receipts whose seq (or id, without seq) came before the previous one on the same connection */
  outOfOrder: number;
  protocolErrors: number;
  unexpectedCloses: number;
  firstReceiptAt: number;
  lastReceiptAt: number;
  histogram: string;
  eventLoopUtilization: number;
  /** CPU this worker thread used over the measurement, share of one core */
  cpuShare: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError?: string;
}

export type WorkerRequest = { id: number } & (
  | { cmd: 'connect' }
  | { cmd: 'start' }
  | { cmd: 'progress' }
  | { cmd: 'stop' }
  | { cmd: 'close' }
);

export type WorkerResponse = { id: number } & (
  | { cmd: 'connect'; result: ConnectResult }
  | { cmd: 'start' }
  | { cmd: 'progress'; received: number }
  | { cmd: 'stop'; report: WorkerReport }
  | { cmd: 'close' }
);

export interface ClientPoolOptions {
  /** ws://host:port of each server instance; connection i goes to wsUrls[i % length]. */
  wsUrls: string[];
  connections: number;
  workers: number;
  secret: string;
  /** Source addresses rotated over connections (127.0.0.2, ...), so ephemeral ports never run short. */
  localAddresses: string[];
  /** Handshakes in flight per worker. @default 100 */
  concurrency?: number;
  connectTimeoutMs?: number;
  /** @default 'raw' */
  client?: ClientKind;
  /** @default 1024 */
  idCapacity?: number;
}

/** The workers' reports added up; the per-worker figures stay under `workers`. */
export interface PoolReport
  extends Omit<WorkerReport, 'histogram' | 'eventLoopUtilization' | 'cpuShare' | 'lagP99Ms' | 'lagMaxMs' | 'idCapacity'> {
  latency: LatencySummary;
  workers: { eventLoopUtilization: number; cpuShare: number; lagP99Ms: number; lagMaxMs: number }[];
}

/** The default loopback source addresses: 127.0.0.2 to 127.0.0.9. */
export function loopbackSources(count = 8): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);
}

export class ClientPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, (res: WorkerResponse) => void>();
  private nextId = 1;
  private readonly errors: Error[] = [];

  private constructor(private readonly options: ClientPoolOptions) {}

  /** Spawns the workers and opens every connection; resolves once each got connection_established or failed. */
  static async open(options: ClientPoolOptions): Promise<{ pool: ClientPool; connect: ConnectResult }> {
    const pool = new ClientPool(options);
    const per = Math.ceil(options.connections / options.workers);
    let userId = 1;
    for (let w = 0; w < options.workers; w++) {
      const count = Math.max(0, Math.min(per, options.connections - w * per));
      if (count === 0) break;
      const tokens: string[] = [];
      for (let i = 0; i < count; i++) tokens.push(mintTokenSync({ userId: userId++, secret: options.secret, ttlSeconds: 3600 }));
      const init: WorkerInit = {
        wsUrls: options.wsUrls,
        tokens,
        localAddresses: options.localAddresses,
        addressOffset: w,
        concurrency: options.concurrency ?? 100,
        connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
        client: options.client ?? 'raw',
        idCapacity: options.idCapacity ?? 1024,
      };
      // BENCH_WORKER_PROF=dir writes a CPU profile per client worker, to see where the client spends
      const prof = process.env.BENCH_WORKER_PROF;
      const worker = new Worker(new URL('./client-worker.ts', import.meta.url), {
        workerData: init,
        ...(prof ? { execArgv: [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${prof}`] } : {}),
      });
      worker.on('message', (res: WorkerResponse) => {
        const done = pool.pending.get(res.id);
        pool.pending.delete(res.id);
        done?.(res);
      });
      worker.on('error', (err) => pool.errors.push(err));
      pool.workers.push(worker);
    }
    try {
      const results = await pool.all('connect');
      const connect: ConnectResult = { connected: 0, failed: 0 };
      for (const r of results) {
        if (r.cmd !== 'connect') continue;
        connect.connected += r.result.connected;
        connect.failed += r.result.failed;
        if (r.result.firstError && !connect.firstError) connect.firstError = r.result.firstError;
      }
      return { pool, connect };
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  private request(worker: Worker, cmd: WorkerRequest['cmd'], timeoutMs = 120_000): Promise<WorkerResponse> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`client worker did not answer "${cmd}" within ${timeoutMs} ms ${this.errors[0]?.message ?? ''}`));
      }, timeoutMs);
      const onExit = (): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new Error(`client worker exited during "${cmd}" ${this.errors[0]?.stack ?? ''}`));
      };
      worker.once('exit', onExit);
      this.pending.set(id, (res) => {
        clearTimeout(timer);
        worker.off('exit', onExit);
        resolve(res);
      });
      worker.postMessage({ id, cmd } satisfies WorkerRequest);
    });
  }

  private all(cmd: WorkerRequest['cmd']): Promise<WorkerResponse[]> {
    return Promise.all(this.workers.map((w) => this.request(w, cmd)));
  }

  /** Reset counters and start recording latency and event-loop lag. */
  async start(): Promise<void> {
    await this.all('start');
  }

  async received(): Promise<number> {
    let total = 0;
    for (const r of await this.all('progress')) if (r.cmd === 'progress') total += r.received;
    return total;
  }

  async stop(): Promise<PoolReport> {
    const reports: WorkerReport[] = [];
    for (const r of await this.all('stop')) if (r.cmd === 'stop') reports.push(r.report);
    const sum = (f: (r: WorkerReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
    const withConns = reports.filter((r) => r.connections > 0);
    return {
      connections: sum((r) => r.connections),
      received: sum((r) => r.received),
      minPerConnection: withConns.length ? Math.min(...withConns.map((r) => r.minPerConnection)) : 0,
      maxPerConnection: Math.max(0, ...reports.map((r) => r.maxPerConnection)),
      duplicates: sum((r) => r.duplicates),
      unchecked: sum((r) => r.unchecked),
      outOfOrder: sum((r) => r.outOfOrder),
      protocolErrors: sum((r) => r.protocolErrors),
      unexpectedCloses: sum((r) => r.unexpectedCloses),
      firstReceiptAt: Math.min(...reports.map((r) => r.firstReceiptAt || Infinity)),
      lastReceiptAt: Math.max(0, ...reports.map((r) => r.lastReceiptAt)),
      latency: summarize(mergeEncoded(reports.map((r) => r.histogram))),
      workers: reports.map((r) => ({ eventLoopUtilization: r.eventLoopUtilization, cpuShare: r.cpuShare, lagP99Ms: r.lagP99Ms, lagMaxMs: r.lagMaxMs })),
    };
  }

  /** Close every connection, then the workers. Safe to call twice. */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(
      workers.map(async (w) => {
        await this.request(w, 'close', 30_000).catch(() => undefined);
        await w.terminate();
      }),
    );
  }
}
