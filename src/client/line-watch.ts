// Watching the line: a connection that hears no frame from the server (event, pong, ping) for longer
// than the server's heartbeat interval plus a grace is taken as lost, so a half-open network (a peer
// that stops answering without closing) cannot leave a client "live" forever. One timer for every
// watched connection in the process (the load tester holds tens of thousands); a frame only sets a
// flag, and the tick turns flags into times.

/** One watched connection. */
export interface WatchedLine {
  /** Set on every frame from the server; the tick clears it. */
  heard: boolean;
  /** Silence after which `ping` is called once (a WebSocket ping: any server answers it). */
  pingAfterMs: number;
  /** Silence after which the line is lost. */
  lostAfterMs: number;
  ping(): void;
  /** Called once, with how long the line was silent; the line is no longer watched. */
  lost(silentMs: number): void;
}

interface Entry {
  line: WatchedLine;
  lastHeard: number;
  pinged: boolean;
}

/** The smallest tick: watched limits below ~4x this are detected late by up to a tick or two. */
const MIN_TICK_MS = 25;
const MAX_TICK_MS = 1000;

export class LineWatch {
  private readonly entries = new Map<WatchedLine, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private tickMs = Infinity;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get size(): number {
    return this.entries.size;
  }

  /** Start (or restart, after its limits changed) watching `line`, silent from now. */
  watch(line: WatchedLine): void {
    this.entries.set(line, { line, lastHeard: this.now(), pinged: false });
    line.heard = false;
    const tick = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, Math.floor(line.lostAfterMs / 4)));
    if (tick < this.tickMs) {
      this.tickMs = tick;
      if (this.timer) clearInterval(this.timer);
      this.timer = setInterval(() => this.tick(), tick);
      this.timer.unref();
    }
  }

  unwatch(line: WatchedLine): void {
    this.entries.delete(line);
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.tickMs = Infinity;
    }
  }

  /** One pass over every watched line; public for tests with an injected clock. */
  tick(): void {
    const now = this.now();
    for (const e of this.entries.values()) {
      const line = e.line;
      if (line.heard) {
        line.heard = false;
        e.lastHeard = now;
        e.pinged = false;
        continue;
      }
      const silent = now - e.lastHeard;
      if (silent >= line.lostAfterMs) {
        this.unwatch(line);
        line.lost(silent);
      } else if (!e.pinged && silent >= line.pingAfterMs) {
        e.pinged = true;
        line.ping();
      }
    }
  }
}

/** The process-wide watch every BugzappClient uses. */
export const lineWatch = new LineWatch();
