// A latency histogram drawn in the terminal: one row per bucket (1-2-5 per decade), bars in eighth blocks.
import { Box, Text } from 'ink';
import { formatLatency } from './load-state.ts';

export interface HistogramRow {
  label: string;
  bar: string;
  count: number;
  /** Share of all samples, 0..100. */
  percent: number;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `fraction` (0..1) of `width` cells; never empty for a non-zero count. */
export function drawBar(fraction: number, width: number, nonZero: boolean): string {
  const eighths = Math.round(Math.max(0, Math.min(1, fraction)) * width * 8);
  const bar = '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
  return bar === '' && nonZero ? '▏' : bar;
}

/** Rows of a histogram scaled so the fullest bucket fills `width`. */
export function histogramRows(buckets: readonly { le: number; count: number }[], width: number): HistogramRow[] {
  const max = buckets.reduce((m, b) => Math.max(m, b.count), 0);
  const total = buckets.reduce((t, b) => t + b.count, 0);
  return buckets.map((b) => ({
    label: `≤ ${formatLatency(b.le)}`,
    bar: max > 0 ? drawBar(b.count / max, width, b.count > 0) : '',
    count: b.count,
    percent: total > 0 ? (b.count * 100) / total : 0,
  }));
}

export function LatencyHistogram({ buckets, width = 40, title = 'push latency' }: { buckets: readonly { le: number; count: number }[]; width?: number; title?: string }) {
  const rows = histogramRows(buckets, width);
  if (rows.length === 0) return <Text dimColor>{title}: no samples</Text>;
  const labelWidth = Math.max(...rows.map((r) => r.label.length));
  const countWidth = Math.max(...rows.map((r) => String(r.count).length));
  return (
    <Box flexDirection="column">
      <Text bold>{title}</Text>
      {rows.map((r) => (
        <Box key={r.label}>
          <Text>{r.label.padStart(labelWidth)} </Text>
          <Text color="cyan">{r.bar.padEnd(width)}</Text>
          <Text> {String(r.count).padStart(countWidth)}</Text>
          <Text dimColor> {r.percent.toFixed(1).padStart(5)}%</Text>
        </Box>
      ))}
    </Box>
  );
}
