// A one-line chart in block characters (▁▂▃▄▅▆▇█), for the dashboard's last minute of figures.
import { Box, Text } from 'ink';

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * One cell per value, scaled from 0 to the largest value (so a flat line at a non-zero level sits at
 * the top and a drop to zero shows); null is a gap (a space).
 */
export function sparkline(values: readonly (number | null)[]): string {
  const max = values.reduce<number>((m, v) => (v !== null && v > m ? v : m), 0);
  return values
    .map((v) => {
      if (v === null) return ' ';
      if (max <= 0) return BLOCKS[0]!;
      const i = Math.round((Math.max(0, v) / max) * (BLOCKS.length - 1));
      return BLOCKS[i]!;
    })
    .join('');
}

export function Sparkline({
  label,
  values,
  current,
  color,
  labelWidth,
}: {
  label: string;
  values: readonly (number | null)[];
  /** The newest value as text, after the line. */
  current: string;
  color: string;
  labelWidth: number;
}) {
  return (
    <Box>
      <Text bold>{label.padEnd(labelWidth)}</Text>
      <Text color={color}>{sparkline(values)}</Text>
      <Text> {current}</Text>
    </Box>
  );
}
