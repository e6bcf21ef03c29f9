// The terminal dashboard of `bugzapp load`: a pure function of LoadViewState. Live: phase, progress bars
// for connections and events, delivered over expected, latency percentiles, errors and the generator's
// own event-loop lag, sparklines of deliveries/s and p99 over the last minute. Once the report is in: the verdict, the gate table and a latency histogram.
import { Box, Text } from 'ink';
import type { LoadReport, Verdict } from '../../loadtest/report-json.ts';
import type { LoadPhase, LoggedType } from '../../loadtest/types.ts';
import { GateTable } from './load-gate-table.tsx';
import { LatencyHistogram } from './load-histogram.tsx';
import { Sparkline } from './sparkline.tsx';
import { deliveredPercent, formatLatency, type LoadViewState } from './load-state.ts';

const PHASES: readonly LoadPhase[] = ['starting', 'connect', 'fire', 'drain', 'rate-limit', 'closing', 'done'];
const BAR_WIDTH = 24;
const LABEL_WIDTH = 12;

/** `██████░░░░`: `value` of `total` over `width` cells (full when total is 0 and value too). */
export function progressBar(value: number, total: number, width = BAR_WIDTH): string {
  const fraction = total > 0 ? Math.max(0, Math.min(1, value / total)) : 0;
  const filled = Math.round(fraction * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

function Label({ children }: { children: string }) {
  return <Text bold>{children.padEnd(LABEL_WIDTH)}</Text>;
}

function PhaseLine({ phase }: { phase: LoadPhase }) {
  const current = PHASES.indexOf(phase);
  return (
    <Box>
      <Label>phase</Label>
      {PHASES.map((p, i) => (
        <Text key={p} {...(i === current ? { color: 'cyan', bold: true } : i < current ? { dimColor: false } : { dimColor: true })}>
          {i > 0 ? ' › ' : ''}
          {i === current ? `[${p}]` : p}
        </Text>
      ))}
    </Box>
  );
}

function Bar({ label, value, total, color, suffix }: { label: string; value: number; total: number; color: string; suffix: string }) {
  const width = String(total).length;
  return (
    <Box>
      <Label>{label}</Label>
      <Text color={color}>{progressBar(value, total)}</Text>
      <Text>
        {' '}
        {String(value).padStart(width)}/{total}
      </Text>
      <Text dimColor> {suffix}</Text>
    </Box>
  );
}

const VERDICT_STYLE: Record<Verdict, { color: string; text: string }> = {
  pass: { color: 'green', text: 'PASS' },
  fail: { color: 'red', text: 'FAIL' },
  invalid: { color: 'yellow', text: 'INVALID (the load generator saturated)' },
};

const TYPES: readonly LoggedType[] = ['bug_report', 'comment', 'notification'];

function FinalSection({ report }: { report: LoadReport }) {
  const style = VERDICT_STYLE[report.verdict];
  const failedChecks = report.checks.filter((c) => c.status === 'fail');
  return (
    <Box flexDirection="column" marginTop={1}>
      <Box>
        <Text bold>verdict </Text>
        <Text bold color={style.color}>
          {style.text}
        </Text>
        <Text dimColor>
          {'  '}exit {report.exitCode}
          {report.aborted ? ' · stopped early' : ''}
        </Text>
      </Box>
      {report.reasons.map((r, i) => (
        <Text key={i} color={style.color}>
          {'  '}- {r}
        </Text>
      ))}
      <Box flexDirection="column" marginTop={1}>
        {TYPES.map((t) => {
          const c = report.delivery.byType[t];
          const bad = report.checks.find((x) => x.name === `delivery.${t}`)?.status === 'fail';
          return (
            <Box key={t}>
              <Text color={bad ? 'red' : 'green'}>{bad ? '✗ ' : '✓ '}</Text>
              <Text>{t.padEnd(LABEL_WIDTH + 1)}</Text>
              <Text>
                {c.delivered}/{c.expected} delivered
                {c.missing ? `, ${c.missing} missing` : ''}
                {c.duplicated ? `, ${c.duplicated} duplicated` : ''}
                {c.misrouted ? `, ${c.misrouted} misrouted` : ''}
                {c.outOfOrder ? `, ${c.outOfOrder} out of order` : ''}
                {c.late ? `, ${c.late} late` : ''}
              </Text>
            </Box>
          );
        })}
        <Box>
          <Text color={report.rateLimit.status === 'fail' ? 'red' : report.rateLimit.status === 'pass' ? 'green' : 'gray'}>
            {report.rateLimit.status === 'fail' ? '✗ ' : report.rateLimit.status === 'pass' ? '✓ ' : '- '}
          </Text>
          <Text>{'rate limit'.padEnd(LABEL_WIDTH + 1)}</Text>
          <Text>{report.rateLimit.status}</Text>
        </Box>
        {failedChecks
          .filter((c) => c.group !== 'delivery' && c.group !== 'rate-limit')
          .map((c) => (
            <Box key={c.name}>
              <Text color="red">✗ </Text>
              <Text>{c.name.padEnd(LABEL_WIDTH + 1)}</Text>
              <Text>{c.detail}</Text>
            </Box>
          ))}
      </Box>
      <Box marginTop={1}>
        <GateTable gates={report.gates} />
      </Box>
      <Box marginTop={1}>
        <LatencyHistogram buckets={report.latency.buckets} title="push latency (broadcasts and notifications)" />
      </Box>
    </Box>
  );
}

function LastMinute({ seconds }: { seconds: LoadViewState['seconds'] }) {
  const last = seconds[seconds.length - 1]!;
  return (
    <Box flexDirection="column">
      <Sparkline
        label="deliveries"
        labelWidth={LABEL_WIDTH}
        values={seconds.map((x) => x.deliveriesPerSec)}
        current={`${Math.round(last.deliveriesPerSec)}/s`}
        color="green"
      />
      <Sparkline
        label="p99 (1s)"
        labelWidth={LABEL_WIDTH}
        values={seconds.map((x) => x.p99Ms)}
        current={last.p99Ms === null ? '-' : formatLatency(last.p99Ms)}
        color="yellow"
      />
    </Box>
  );
}

export function LoadDashboard({ state }: { state: LoadViewState }) {
  const s = state;
  const lat = s.delivery.latency;
  const lag = s.generator?.eventLoopLagMs;
  const lagHigh = lag !== undefined && lag.p99 > s.saturationLagMs;
  const report = s.report;
  return (
    <Box flexDirection="column">
      <Box>
        <Text bold>bugzapp load </Text>
        <Text dimColor>
          {s.targets.join(', ') || '(starting the reference server)'}
          {s.server ? ' (started by bugzapp)' : ''}
          {s.scenario ? ` · scenario ${s.scenario}` : ''}
        </Text>
      </Box>
      <PhaseLine phase={s.phase} />
      {s.run && !report ? (
        <Box flexDirection="column">
          <Box>
            <Label>whole run</Label>
            <Text>
              shard {s.run.shard}/{s.run.shards}
              <Text dimColor> · </Text>
              {s.run.shardsConnected}/{s.run.shards} shards connected
              <Text dimColor> · </Text>
              {s.run.shardsDone}/{s.run.shards} done firing
            </Text>
          </Box>
          <Text>
            {' '.repeat(LABEL_WIDTH)}
            {s.run.opened} connections
            <Text dimColor> · </Text>
            fired {s.run.fired}/{s.run.target}
            <Text dimColor> · </Text>
            delivered {s.run.delivered}/{s.run.expected} ({deliveredPercent(s.run.delivered, s.run.expected)})
          </Text>
        </Box>
      ) : null}
      <Bar label="connections" value={s.connect.opened} total={s.connect.target} color="blue" suffix={`${s.connect.errors} errors`} />
      {s.churn ? (
        <Text>
          {'  '}reconnecting <Text color={s.churn.reconnecting > 0 ? 'yellow' : 'green'}>{s.churn.reconnecting}</Text> now, {s.churn.cuts} cut,{' '}
          {s.churn.reconnects} reconnects
          {s.churn.paused !== undefined ? `, ${s.churn.paused} not reading (--slow)` : ''}
        </Text>
      ) : null}
      <Bar
        label="events"
        value={s.fire.fired}
        total={s.fire.target}
        color="magenta"
        suffix={`${s.fire.accepted} accepted, ${s.fire.restErrors} REST errors`}
      />
      <Bar
        label="delivered"
        value={s.delivery.delivered}
        total={s.delivery.expected}
        color={s.delivery.misrouted || s.delivery.duplicated ? 'red' : 'green'}
        suffix={`${deliveredPercent(s.delivery.delivered, s.delivery.expected)}, ${s.delivery.duplicated} duplicated, ${s.delivery.misrouted} misrouted`}
      />
      <Box>
        <Label>latency</Label>
        {lat.count > 0 || report ? (
          report ? (
            <Text>
              p50 {formatLatency(Number(report.figures.p50))}
              {'  '}p90 {formatLatency(Number(report.figures.p90))}
              {'  '}p99 {formatLatency(Number(report.figures.p99))}
              {'  '}max {formatLatency(Number(report.figures.max))}
              <Text dimColor>
                {'  '}({report.latency.broadcast.count + report.latency.notification.count} samples)
              </Text>
            </Text>
          ) : (
            <Text>
              p50 {formatLatency(lat.p50)}
              {'  '}p90 {formatLatency(lat.p90)}
              {'  '}p99 {formatLatency(lat.p99)}
              {'  '}max {formatLatency(lat.max)}
              <Text dimColor>
                {'  '}({lat.count} samples)
              </Text>
            </Text>
          )
        ) : (
          <Text dimColor>waiting for deliveries…</Text>
        )}
      </Box>
      {s.seconds.length > 0 ? <LastMinute seconds={s.seconds} /> : null}
      <Box>
        <Label>generator</Label>
        {s.generator && lag ? (
          <Text>
            <Text color={lagHigh ? 'red' : undefined}>
              event-loop lag p99 {formatLatency(lag.p99)}
            </Text>
            <Text dimColor> (bound {formatLatency(s.saturationLagMs)})</Text>
            {'  '}CPU {Math.round(s.generator.cpuPercent)}%
          </Text>
        ) : (
          <Text dimColor>measuring…</Text>
        )}
      </Box>
      {s.errorCount > 0 ? (
        <Box flexDirection="column">
          <Box>
            <Label>errors</Label>
            <Text color="red">{s.errorCount}</Text>
          </Box>
          {s.errors.map((e, i) => (
            <Text key={i} color="red">
              {' '.repeat(LABEL_WIDTH)}
              {e}
            </Text>
          ))}
        </Box>
      ) : null}
      {report ? <FinalSection report={report} /> : null}
    </Box>
  );
}
