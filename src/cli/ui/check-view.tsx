// The terminal view of `bugzapp check`: cases streaming in grouped by protocol section with a live
// count, then a table of what did not pass, expected beside observed.
import { Box, Text } from 'ink';
import type { CaseResult } from '../../check/types.ts';
import { counts, type CheckViewState } from './check-state.ts';

const MARK: Record<CaseResult['outcome'], { sign: string; color: string }> = {
  pass: { sign: '✓', color: 'green' },
  fail: { sign: '✗', color: 'red' },
  unsupported: { sign: '○', color: 'yellow' },
  error: { sign: '!', color: 'magenta' },
};

export function CheckView({ state }: { state: CheckViewState }) {
  const c = counts(state);
  const failed = state.result ? state.result.cases.filter((r) => r.outcome !== 'pass') : [];
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>bugzapp check</Text> {state.target}
        {'  '}
        <Text dimColor>
          {c.done}/{state.total}
        </Text>{' '}
        <Text color="green">{c.pass} pass</Text> <Text color={c.fail ? 'red' : undefined}>{c.fail} fail</Text>{' '}
        <Text color={c.unsupported ? 'yellow' : undefined}>{c.unsupported} unsupported</Text>{' '}
        <Text color={c.error ? 'magenta' : undefined}>{c.error} error</Text>
      </Text>
      {state.sections.map((s) => (
        <Box key={s.section} flexDirection="column" marginTop={1}>
          <Text bold>
            {s.section}. {s.title}{' '}
            <Text dimColor>
              {s.done.length}/{s.total}
            </Text>
          </Text>
          {s.done.map((r) => (
            <Text key={r.id}>
              {'  '}
              <Text color={MARK[r.outcome].color}>{MARK[r.outcome].sign}</Text> {r.id} <Text dimColor>{r.durationMs} ms</Text>
            </Text>
          ))}
          {s.running.map((id) => (
            <Text key={id} dimColor>
              {'  '}… {id}
            </Text>
          ))}
        </Box>
      ))}
      {state.result && (
        <Box flexDirection="column" marginTop={1}>
          {failed.length > 0 && <FailureTable cases={failed} />}
          <Text bold color={state.result.verdict === 'pass' ? 'green' : 'red'}>
            {state.result.verdict === 'pass' ? 'PASS' : 'FAIL'}: {state.result.summary.pass} of {state.result.summary.total} passed (protocol{' '}
            {state.result.protocolVersion})
          </Text>
        </Box>
      )}
    </Box>
  );
}

function FailureTable({ cases }: { cases: readonly CaseResult[] }) {
  const idWidth = Math.max(4, ...cases.map((r) => r.id.length));
  return (
    <Box flexDirection="column" marginBottom={1}>
      <Text bold>
        {'  '}
        {'case'.padEnd(idWidth)} expected / observed
      </Text>
      {cases.map((r) => (
        <Box key={r.id} flexDirection="column">
          <Text>
            <Text color={MARK[r.outcome].color}>{MARK[r.outcome].sign} </Text>
            {r.id.padEnd(idWidth)} <Text dimColor>expected</Text> {r.expected}
          </Text>
          <Text>
            {'  '}
            {''.padEnd(idWidth)} <Text color={MARK[r.outcome].color}>observed</Text> {r.observed}
          </Text>
        </Box>
      ))}
    </Box>
  );
}
