// The terminal view of `bugzapp listen`: a pure function of ListenState.
import { Box, Text } from 'ink';
import type { LoggedEventType } from '../../protocol/index.ts';
import {
  describeConnection,
  describeResume,
  formatDelay,
  formatTime,
  type ConnectionView,
  type ListenEntry,
  type ListenState,
} from './listen-state.ts';

export const TYPE_COLOR: Record<LoggedEventType, string> = {
  bug_report: 'yellow',
  comment: 'cyan',
  notification: 'magenta',
};

function connectionColor(c: ConnectionView): string {
  switch (c.kind) {
    case 'live':
      return 'green';
    case 'connecting':
      return 'blue';
    case 'reconnecting':
      return 'yellow';
    case 'closed':
      return c.error ? 'red' : 'gray';
  }
}

function EventRow({ entry }: { entry: ListenEntry }) {
  return (
    <Box>
      <Text dimColor>{formatTime(entry.receivedAt)} </Text>
      <Text color={TYPE_COLOR[entry.type]}>{entry.type.padEnd(12)}</Text>
      <Text>{(entry.action ?? '').padEnd(8)}</Text>
      <Text>{entry.summary}</Text>
      {entry.delayMs !== undefined ? <Text dimColor> {formatDelay(entry.delayMs)}</Text> : null}
    </Box>
  );
}

export function ListenView({ state }: { state: ListenState }) {
  const resume = describeResume(state.resume);
  return (
    <Box flexDirection="column">
      <Box>
        <Text bold>bugzapp listen </Text>
        <Text dimColor>
          {state.url}
          {state.user ? ` · user ${state.user}` : ''}
        </Text>
      </Box>
      <Box>
        <Text color={connectionColor(state.connection)}>● {describeConnection(state.connection)}</Text>
      </Box>
      {resume ? (
        <Box>
          <Text color={state.resume.kind === 'resumed' ? 'green' : 'yellow'}>{resume}</Text>
        </Box>
      ) : null}
      {state.serverError ? (
        <Box>
          <Text color="red">server error: {state.serverError}</Text>
        </Box>
      ) : null}
      <Box flexDirection="column" marginTop={1}>
        {state.recent.length === 0 ? <Text dimColor>waiting for events…</Text> : null}
        {state.recent.map((e, i) => (
          <EventRow key={`${e.receivedAt}-${i}`} entry={e} />
        ))}
      </Box>
      <Box marginTop={1}>
        {(Object.keys(TYPE_COLOR) as LoggedEventType[]).map((t) => (
          <Text key={t} color={TYPE_COLOR[t]}>
            {t} {state.counts[t]}
            {'  '}
          </Text>
        ))}
        <Text dimColor>
          total {state.total} · connections {state.connections}
        </Text>
      </Box>
    </Box>
  );
}
