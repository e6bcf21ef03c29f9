// The generator watching itself: event-loop lag and CPU of this thread and process. A load generator
// whose own loop lags measures itself, not the server; such a run is marked invalid.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface HealthSample {
  lagMs: { p50: number; p99: number; max: number };
  /** Process CPU since start, percent of one core. */
  cpuPercent: number;
  /** This thread's event-loop utilisation since start, 0..1. */
  elu: number;
}

/** Sampling period of the lag monitor, ms. Its figures include this period, so it is taken off. */
export const LAG_RESOLUTION_MS = 10;

export type LagMonitor = ReturnType<typeof monitorEventLoopDelay>;

export function createLagMonitor(): LagMonitor {
  const h = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  h.enable();
  return h;
}

/** Lag beyond the sampling period, in ms: 0 for an idle loop. */
export function lagSummary(h: LagMonitor): { p50: number; p99: number; max: number } {
  if (h.count === 0) return { p50: 0, p99: 0, max: 0 };
  const ms = (ns: number): number => round(Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS));
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
}

export class HealthMonitor {
  private readonly lag = createLagMonitor();
  private readonly cpuStart = process.cpuUsage();
  private readonly wallStart = performance.now();
  private readonly eluStart = performance.eventLoopUtilization();

  sample(): HealthSample {
    const cpu = process.cpuUsage(this.cpuStart);
    const wall = performance.now() - this.wallStart;
    return {
      lagMs: lagSummary(this.lag),
      cpuPercent: wall > 0 ? round(((cpu.user + cpu.system) / 1000 / wall) * 100) : 0,
      elu: performance.eventLoopUtilization(this.eluStart).utilization,
    };
  }

  /** Forget the lag so far (start-up compiles and loads are not the run's). */
  resetLag(): void {
    this.lag.reset();
  }

  stop(): void {
    this.lag.disable();
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
