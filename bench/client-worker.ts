// One worker thread of the bench's receiving clients: opens its share of the connections, counts every
// bug_report per connection (in order, by id), and records POST-to-receipt latency from the absolute
// send time that travels in the report's description (`t=<epoch ms>`), so no thread coordinates clocks.
import { parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { decodeServerMessage } from '../src/protocol/index.ts';
import { compareSeq } from '../src/loadtest/seq-order.ts';
import { LeanTransport } from '../src/client/lean-transport.ts';
import { createHistogram, encodeHistogram, recordMicros } from './histogram.ts';
import type { WorkerInit, WorkerReport, WorkerRequest, WorkerResponse } from './client-pool.ts';

const init = workerData as WorkerInit;
const port = parentPort!;

const n = init.tokens.length;
const sockets: (Connection | undefined)[] = new Array(n);
const closedWaiters = new Map<number, () => void>();
const live = new Uint8Array(n);
const received = new Int32Array(n);
const lastId = new Int32Array(n);
const lastSeq: (string | undefined)[] = new Array(n);
// which report ids each connection got, one bit each: a duplicate shows even when a loss hides it
const idCapacity = init.idCapacity;
const seen = new Uint8Array(Math.ceil((n * idCapacity) / 8));
let duplicates = 0;
let unchecked = 0;
let outOfOrder = 0;
let protocolErrors = 0;
let unexpectedCloses = 0;
let closing = false;
let firstReceiptAt = Infinity;
let lastReceiptAt = 0;
let measuring = false;
const histogram = createHistogram();
// the histogram holds whole timer intervals: lag is what exceeds the resolution
const LAG_RESOLUTION_MS = 10;
const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
let eluStart = performance.eventLoopUtilization();
let cpuStart = process.threadCpuUsage();
let wallStart = performance.now();

const now = (): number => performance.timeOrigin + performance.now();

function onMessage(i: number, data: Buffer): void {
  let msg;
  try {
    msg = decodeServerMessage(data);
  } catch {
    protocolErrors += 1;
    return;
  }
  if (!msg || msg.type !== 'bug_report' || msg.action !== 'created') return;
  const t = now();
  const id = msg.payload.id;
  if (Number.isInteger(id) && id >= 1 && id <= idCapacity) {
    const bit = i * idCapacity + id - 1;
    const mask = 1 << (bit & 7);
    if (seen[bit >> 3]! & mask) duplicates += 1;
    else seen[bit >> 3]! |= mask;
  } else {
    unchecked += 1;
  }
  // order by seq where the server gives one (ids from several instances need not follow stream order)
  if (msg.seq !== undefined) {
    const prev = lastSeq[i];
    if (prev !== undefined && compareSeq(msg.seq, prev) < 0) outOfOrder += 1;
    lastSeq[i] = msg.seq;
  } else {
    if (id < lastId[i]!) outOfOrder += 1;
    lastId[i] = id;
  }
  received[i]! += 1;
  if (t < firstReceiptAt) firstReceiptAt = t;
  lastReceiptAt = t;
  if (measuring && msg.payload.title !== 'warmup') {
    const sentAt = Number(msg.payload.description.slice(2));
    if (Number.isFinite(sentAt)) recordMicros(histogram, (t - sentAt) * 1000);
  }
}

interface Connection {
  terminate(): void;
}

function connectOne(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const base = init.wsUrls[i % init.wsUrls.length]!;
    const url = `${base}/ws?token=${init.tokens[i]}`;
    const localAddress = init.localAddresses[(init.addressOffset + i) % init.localAddresses.length];
    let ready = false;
    let conn: Connection;
    const onText = (data: Buffer): void => {
      if (!ready) {
        let msg;
        try {
          msg = decodeServerMessage(data);
        } catch {
          protocolErrors += 1;
        }
        if (msg?.type === 'connection_established') {
          ready = true;
          sockets[i] = conn;
          live[i] = 1;
          resolve();
          return;
        }
      }
      onMessage(i, data);
    };
    const onClose = (code: number, reason: string): void => {
      if (!ready) reject(new Error(`closed (${code}${reason ? ` ${reason}` : ''}) before connection_established`));
      else {
        live[i] = 0;
        if (!closing) unexpectedCloses += 1;
        closedWaiters.get(i)?.();
      }
    };
    if (init.client === 'raw') {
      conn = new LeanTransport(
        { url, handshakeTimeout: init.connectTimeoutMs, localAddress },
        {
          open: () => undefined,
          text: (_o, _t, data) => onText(data),
          heard: () => undefined,
          refused: (_o, _t, status, body) => onClose(1006, `handshake refused: HTTP ${status} ${body.slice(0, 200)}`),
          closed: (_o, _t, code, reason, error) => onClose(code, reason || error?.message || ''),
        },
        i,
      );
      return;
    }
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: init.connectTimeoutMs,
      skipUTF8Validation: true,
      ...(localAddress ? { localAddress } : {}),
    });
    conn = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) onText(data);
    });
    ws.on('error', (err) => {
      if (!ready) reject(err);
    });
    ws.on('close', (code, reason) => onClose(code, reason.toString()));
  });
}

async function connectAll(): Promise<{ connected: number; failed: number; firstError?: string }> {
  let next = 0;
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      try {
        await connectOne(i);
        connected += 1;
      } catch (err) {
        failed += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(init.concurrency, n) }, lane));
  return { connected, failed, ...(firstError ? { firstError } : {}) };
}

function report(): WorkerReport {
  let min = Infinity;
  let max = 0;
  let total = 0;
  let open = 0;
  for (let i = 0; i < n; i++) {
    if (!sockets[i]) continue;
    open += 1;
    const r = received[i]!;
    total += r;
    if (r < min) min = r;
    if (r > max) max = r;
  }
  const elu = performance.eventLoopUtilization(eluStart);
  const cpu = process.threadCpuUsage(cpuStart);
  const wall = performance.now() - wallStart;
  return {
    connections: open,
    received: total,
    minPerConnection: open ? min : 0,
    maxPerConnection: max,
    duplicates,
    unchecked,
    outOfOrder,
    protocolErrors,
    unexpectedCloses,
    firstReceiptAt: Number.isFinite(firstReceiptAt) ? firstReceiptAt : 0,
    lastReceiptAt,
    histogram: encodeHistogram(histogram),
    eventLoopUtilization: elu.utilization,
    // this thread's own CPU: a loop that is busy but got little CPU was starved by other processes
    cpuShare: wall > 0 ? (cpu.user + cpu.system) / 1000 / wall : 0,
    lagP99Ms: lag.count ? Math.max(0, lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS) : 0,
    lagMaxMs: lag.count ? Math.max(0, lag.max / 1e6 - LAG_RESOLUTION_MS) : 0,
  };
}

async function closeAll(): Promise<void> {
  closing = true;
  const waits: Promise<void>[] = [];
  sockets.forEach((conn, i) => {
    if (!conn || !live[i]) return;
    waits.push(new Promise((r) => closedWaiters.set(i, r)));
    conn.terminate();
  });
  await Promise.all(waits);
}

port.on('message', async (req: WorkerRequest) => {
  let res: WorkerResponse;
  switch (req.cmd) {
    case 'connect':
      res = { id: req.id, cmd: 'connect', result: await connectAll() };
      break;
    case 'start':
      received.fill(0);
      lastId.fill(0);
      lastSeq.fill(undefined);
      seen.fill(0);
      duplicates = 0;
      unchecked = 0;
      outOfOrder = 0;
      firstReceiptAt = Infinity;
      lastReceiptAt = 0;
      histogram.reset();
      lag.reset();
      lag.enable();
      eluStart = performance.eventLoopUtilization();
      cpuStart = process.threadCpuUsage();
      wallStart = performance.now();
      measuring = true;
      res = { id: req.id, cmd: 'start' };
      break;
    case 'progress': {
      let total = 0;
      for (let i = 0; i < n; i++) total += received[i]!;
      res = { id: req.id, cmd: 'progress', received: total };
      break;
    }
    case 'stop':
      measuring = false;
      lag.disable();
      res = { id: req.id, cmd: 'stop', report: report() };
      break;
    case 'close':
      await closeAll();
      res = { id: req.id, cmd: 'close' };
      break;
  }
  port.postMessage(res);
});
