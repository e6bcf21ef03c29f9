// The gate table of the final frame: each gate with its actual value, passed or failed.
import { Box, Text } from 'ink';
import type { GateResult } from '../../loadtest/gates.ts';

export function GateTable({ gates }: { gates: readonly GateResult[] }) {
  if (gates.length === 0) return <Text dimColor>no gates</Text>;
  const exprWidth = Math.max(4, ...gates.map((g) => g.expression.length));
  const actualWidth = Math.max(6, ...gates.map((g) => g.display.length));
  return (
    <Box flexDirection="column">
      <Text bold>
        {'  '}
        {'gate'.padEnd(exprWidth)} {'actual'.padStart(actualWidth)}
      </Text>
      {gates.map((g, i) => (
        <Box key={`${i}-${g.expression}`}>
          <Text color={g.pass ? 'green' : 'red'}>{g.pass ? '✓ ' : '✗ '}</Text>
          <Text>{g.expression.padEnd(exprWidth)} </Text>
          <Text color={g.pass ? undefined : 'red'}>{g.display.padStart(actualWidth)}</Text>
          <Text color={g.pass ? 'green' : 'red'}> {g.pass ? 'pass' : 'FAIL'}</Text>
        </Box>
      ))}
    </Box>
  );
}
