// Parsing of the human units that flags and scenario files use: durations, byte sizes, rates.

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** '250ms', '30s', '1.5m', '1h', or a bare number of milliseconds. Returns milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? 'ms').toLowerCase();
  return Math.round(Number(m[1]) * DURATION_UNITS[unit]!);
}

/** '64kb', '1mb', '512b', or a bare number of bytes. Returns bytes, or undefined. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  return Math.round(Number(m[1]) * BYTE_UNITS[unit]!);
}

/** '10/1s' or '100/500ms': `max` messages per `windowMs`. */
export function parseRate(text: string): { max: number; windowMs: number } | undefined {
  const m = /^\s*(\d+)\s*\/\s*(.+)$/.exec(text);
  if (!m) return undefined;
  const windowMs = parseDuration(m[2]!);
  const max = Number(m[1]);
  if (windowMs === undefined || windowMs <= 0 || !Number.isSafeInteger(max)) return undefined;
  return { max, windowMs };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`;
  return `${(ms / 60_000).toFixed(1)}m`;
}
