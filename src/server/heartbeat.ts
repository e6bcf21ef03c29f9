// One timer for every socket: pings and liveness, the token-expiry wheel (4001) and the sweep that
// terminates sockets stuck in closing (a stalled peer never reads our close frame: held for up to a
// heartbeat interval while the frame is still unsent, so a consumer that reads again is told why).
import { CloseCode } from '../protocol/index.ts';
import type { Connection, Hub } from './hub.ts';
import type { ServerMetrics } from './metrics.ts';

/** Connections bucketed by the second their token expires: each tick only looks at due buckets. */
export class ExpiryWheel {
  private readonly buckets = new Map<number, Set<Connection>>();
  /** Every bucket up to this second has been drained. */
  private drainedUpTo: number;

  constructor(nowSec: number) {
    this.drainedUpTo = nowSec - 1;
  }

  add(conn: Connection): void {
    let set = this.buckets.get(conn.exp);
    if (!set) {
      set = new Set();
      this.buckets.set(conn.exp, set);
    }
    set.add(conn);
  }

  remove(conn: Connection): void {
    const set = this.buckets.get(conn.exp);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.buckets.delete(conn.exp);
  }

  /** Connections whose `exp` is at or before `nowSec`, removed from the wheel. */
  takeDue(nowSec: number): Connection[] {
    const due: Connection[] = [];
    const take = (sec: number): void => {
      const set = this.buckets.get(sec);
      if (!set) return;
      for (const c of set) due.push(c);
      this.buckets.delete(sec);
    };
    // a late connection can land in an already drained second: always check the current one and
    // anything below the drained mark by walking the keys when the jump is large (injected clocks)
    if (nowSec - this.drainedUpTo > 3600) {
      for (const sec of [...this.buckets.keys()]) if (sec <= nowSec) take(sec);
    } else {
      for (let s = this.drainedUpTo + 1; s <= nowSec; s++) take(s);
    }
    this.drainedUpTo = Math.max(this.drainedUpTo, nowSec);
    return due;
  }
}

export interface HousekeeperOptions {
  tickMs: number;
  heartbeatIntervalMs: number;
  closeGraceMs: number;
  clock: () => number;
}

export class Housekeeper {
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private readonly pingEvery: number;
  readonly wheel: ExpiryWheel;

  constructor(
    private readonly hub: Hub,
    private readonly metrics: ServerMetrics,
    private readonly options: HousekeeperOptions,
  ) {
    this.pingEvery = Math.max(1, Math.round(options.heartbeatIntervalMs / options.tickMs));
    this.wheel = new ExpiryWheel(Math.floor(options.clock() / 1000));
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A connection is past its token's `exp` when this is true (jose refuses exp <= now). */
  isExpired(conn: Connection): boolean {
    return conn.exp <= Math.floor(this.options.clock() / 1000);
  }

  tick(): void {
    this.ticks++;
    const nowSec = Math.floor(this.options.clock() / 1000);
    for (const conn of this.wheel.takeDue(nowSec)) this.expire(conn);
    this.hub.sweepClosing(this.options.closeGraceMs, this.options.heartbeatIntervalMs);
    if (this.ticks % this.pingEvery === 0) this.heartbeat();
  }

  expire(conn: Connection): void {
    if (conn.closingSince !== 0) return;
    this.metrics.tokenExpiryCloses.inc();
    this.hub.close(conn, CloseCode.TokenExpired, 'token expired');
  }

  private heartbeat(): void {
    for (const conn of this.hub.all) {
      if (conn.closingSince !== 0) continue;
      if (!conn.alive) {
        this.metrics.heartbeatTerminations.inc();
        conn.closeReason = 'no pong';
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }
}
