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

export class HealthMonitor {
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private readonly cpuStart = process.cpuUsage();
  private readonly wallStart = performance.now();
  private readonly eluStart = performance.eventLoopUtilization();

  constructor() {
    this.lag.enable();
  }

  sample(): HealthSample {
    const cpu = process.cpuUsage(this.cpuStart);
    const wall = performance.now() - this.wallStart;
    const has = this.lag.count > 0;
    return {
      lagMs: {
        p50: has ? round(this.lag.percentile(50) / 1e6) : 0,
        p99: has ? round(this.lag.percentile(99) / 1e6) : 0,
        max: has ? round(this.lag.max / 1e6) : 0,
      },
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
