// The `--html` file: one self-contained page for a person reviewing a run (a CI artifact opened from
// disk): verdict, gates and checks, delivery per type with the first offenders, latency, and charts
// over time drawn here as inline SVG. Nothing is loaded from anywhere: no fonts, no scripts, no images.
// The charts are plain SVG, so they show without scripting; the one small inline script only marks the
// page once the browser has laid the charts out (the screenshot test reads that mark).
import type { LoadReport, Verdict } from './report-json.ts';
import { LATENCY_COLUMNS, LOGGED_TYPES, latencyRowsOf, describeOffender, describeResilience, describeTargets, formatMs, formatPercent } from './report-text.ts';
import type { TimelineEntry } from './types.ts';

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const esc = escapeHtml;

const VERDICT_TEXT: Record<Verdict, string> = {
  pass: 'PASS',
  fail: 'FAIL',
  invalid: 'INVALID: the load generator saturated',
};

// ---- charts -------------------------------------------------------------------------------------

const W = 640;
const H = 190;
const M = { left: 52, right: 96, top: 14, bottom: 30 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

/** Coordinates with at most one decimal: smaller files, identical drawing. */
const n1 = (x: number): string => String(Math.round(x * 10) / 10);

/** A round step for about `target` intervals over `span`, from 1-2-5 per decade. */
export function niceStep(span: number, target: number): number {
  if (!(span > 0)) return 1;
  const raw = span / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

/** A round upper bound for a y axis (at least `floor`). */
function niceMax(max: number, floor: number): number {
  const top = Math.max(max, floor);
  const step = niceStep(top, 4);
  return Math.ceil(top / step) * step;
}

function formatTick(v: number): string {
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 1000) return `${Math.round(v / 100) / 10}k`;
  return formatMs(v);
}

/** A series' newest value beside its line: short, three significant digits at most. */
function formatLabel(v: number): string {
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
  if (v >= 100) return String(Math.round(v));
  if (v >= 10) return String(Math.round(v * 10) / 10);
  return String(Math.round(v * 100) / 100);
}

interface Series {
  name: string;
  /** CSS class giving the colour: s1..s4. */
  cls: string;
  values: (number | null)[];
  /** line: a polyline through the middle of each second; area: the same, filled; bars: one bar a second. */
  kind: 'line' | 'area' | 'bars';
}

interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  t: number[];
  series: Series[];
  /** Vertical markers at a time (seconds): the fire phase's start, the drain's. */
  markers: { at: number; label: string }[];
  /** Smallest y range, so a flat zero line still has an axis. */
  yFloor: number;
  /** Per second, the tooltip of its column (all figures of that second); none on long runs. */
  tips: string[] | undefined;
}

/** Above this many seconds the per-second tooltips are left out (they would weigh more than the page). */
const MAX_TIP_SECONDS = 900;

function tipOf(e: TimelineEntry): string {
  const lat = e.p50Ms === null || e.p99Ms === null ? 'no deliveries' : `p50 ${formatMs(e.p50Ms)} ms, p99 ${formatMs(e.p99Ms)} ms`;
  return `${e.t}s: ${e.delivered} delivered (${lat}); ${e.fired} fired, ${e.accepted} accepted; ${e.connections} connections open; ${e.errors} errors`;
}

function chart(c: ChartSpec): string {
  const t0 = c.t[0]!;
  const span = c.t.length; // each second spans [t, t+1)
  const x = (t: number): number => M.left + ((t - t0) / span) * PW;
  const all = c.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  // headroom above the highest point, so a flat line at the top stays clear of the marker labels
  const yMax = niceMax(all.length ? Math.max(...all) * 1.1 : 0, c.yFloor);
  const y = (v: number): number => M.top + PH - (v / yMax) * PH;
  const out: string[] = [];
  out.push(
    `<svg class="chart" data-chart="${esc(c.id)}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(c.title)}" preserveAspectRatio="xMidYMid meet">`,
  );
  // grid and y labels
  const yStep = niceStep(yMax, 4);
  for (let v = 0; v <= yMax + yStep / 1000; v += yStep) {
    out.push(`<line class="grid" x1="${M.left}" x2="${M.left + PW}" y1="${n1(y(v))}" y2="${n1(y(v))}"/>`);
    out.push(`<text class="tick" x="${M.left - 6}" y="${n1(y(v) + 4)}" text-anchor="end">${esc(formatTick(v))}</text>`);
  }
  // x ticks: seconds since the fire phase started
  const xStep = Math.max(1, niceStep(span, 8));
  const firstTick = Math.ceil(t0 / xStep) * xStep;
  for (let t = firstTick; t <= t0 + span; t += xStep) {
    out.push(`<line class="axis" x1="${n1(x(t))}" x2="${n1(x(t))}" y1="${M.top + PH}" y2="${M.top + PH + 4}"/>`);
    out.push(`<text class="tick" x="${n1(x(t))}" y="${M.top + PH + 16}" text-anchor="middle">${t}s</text>`);
  }
  out.push(`<line class="axis" x1="${M.left}" x2="${M.left + PW}" y1="${M.top + PH}" y2="${M.top + PH}"/>`);
  for (const m of c.markers) {
    if (m.at < t0 || m.at > t0 + span) continue;
    out.push(`<line class="marker" x1="${n1(x(m.at))}" x2="${n1(x(m.at))}" y1="${M.top}" y2="${M.top + PH}"/>`);
    out.push(`<text class="marker-label" x="${n1(x(m.at) + 3)}" y="${M.top + 9}">${esc(m.label)}</text>`);
  }
  // one column a second, under the series: hovering it shows every figure of that second
  if (c.tips) {
    const cw = PW / span;
    c.tips.forEach((tip, i) => {
      out.push(`<rect class="hit" x="${n1(x(c.t[i]!))}" y="${M.top}" width="${n1(cw)}" height="${PH}"><title>${esc(tip)}</title></rect>`);
    });
  }
  // series; labelled at their last point, so no legend is needed
  const labels: { y: number; text: string; cls: string }[] = [];
  for (const s of c.series) {
    let d = '';
    let lastPoint: { x: number; y: number; v: number } | undefined;
    if (s.kind === 'bars') {
      const bw = Math.max(1, (PW / span) * 0.7);
      s.values.forEach((v, i) => {
        const cx = x(c.t[i]! + 0.5);
        const h = v === null ? 0 : (v / yMax) * PH;
        d += `M${n1(cx - bw / 2)} ${n1(M.top + PH)}h${n1(bw)}v${n1(-h)}h${n1(-bw)}Z`;
        if (v !== null) lastPoint = { x: cx, y: y(v), v };
      });
    } else {
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        const px = x(c.t[i]! + 0.5);
        const py = y(v);
        d += `${pen ? 'L' : 'M'}${n1(px)} ${n1(py)}`;
        // a lone second is still visible
        if (!pen && (i + 1 >= s.values.length || s.values[i + 1] === null)) d += `h0.01`;
        pen = true;
        lastPoint = { x: px, y: py, v };
      });
      if (s.kind === 'area' && d !== '') {
        const first = s.values.findIndex((v) => v !== null);
        const last = s.values.length - 1 - [...s.values].reverse().findIndex((v) => v !== null);
        const fill = s.values.map((v) => v ?? 0);
        let a = `M${n1(x(c.t[first]! + 0.5))} ${n1(M.top + PH)}`;
        for (let i = first; i <= last; i++) a += `L${n1(x(c.t[i]! + 0.5))} ${n1(y(fill[i]!))}`;
        a += `L${n1(x(c.t[last]! + 0.5))} ${n1(M.top + PH)}Z`;
        out.push(`<path class="area ${s.cls}" d="${a}"/>`);
      }
    }
    if (d === '') d = `M${M.left} ${M.top + PH}h${PW}`; // nothing to draw: the zero line
    out.push(`<path data-series="${esc(s.name)}" class="${s.kind === 'bars' ? 'bars' : 'line'} ${s.cls}" d="${d}"/>`);
    if (lastPoint) labels.push({ y: lastPoint.y, text: `${s.name} ${formatLabel(lastPoint.v)}`, cls: s.cls });
  }
  // keep end labels apart
  labels.sort((a, b) => a.y - b.y);
  for (let i = 1; i < labels.length; i++) if (labels[i]!.y - labels[i - 1]!.y < 12) labels[i]!.y = labels[i - 1]!.y + 12;
  for (const l of labels) out.push(`<text class="end-label ${l.cls}" x="${M.left + PW + 4}" y="${n1(l.y + 4)}">${esc(l.text)}</text>`);
  out.push('</svg>');
  return `<figure class="panel"><figcaption>${esc(c.title)} <span class="unit">${esc(c.unit)}</span></figcaption>${out.join('')}</figure>`;
}

function timelineCharts(r: LoadReport, tl: TimelineEntry[]): string {
  const t = tl.map((e) => e.t);
  const markers = [
    { at: 0, label: 'fire' },
    ...(r.timings.fireMs > 0 ? [{ at: r.timings.fireMs / 1000, label: 'drain' }] : []),
  ];
  const base = { t, markers, tips: tl.length <= MAX_TIP_SECONDS ? tl.map(tipOf) : undefined };
  return [
    chart({
      ...base,
      id: 'deliveries',
      title: 'Deliveries per second',
      unit: '(first receipts at the connections owed them)',
      yFloor: 1,
      series: [{ name: 'delivered', cls: 's1', kind: 'area', values: tl.map((e) => e.delivered) }],
    }),
    chart({
      ...base,
      id: 'latency',
      title: 'Push latency per second',
      unit: '(ms, POST sent to WebSocket received)',
      yFloor: 1,
      series: [
        { name: 'p99', cls: 's2', kind: 'line', values: tl.map((e) => e.p99Ms) },
        { name: 'p50', cls: 's1', kind: 'line', values: tl.map((e) => e.p50Ms) },
      ],
    }),
    chart({
      ...base,
      id: 'connections',
      title: 'Connections open',
      unit: '(at the end of each second)',
      yFloor: 1,
      series: [{ name: 'open', cls: 's1', kind: 'line', values: tl.map((e) => e.connections) }],
    }),
    chart({
      ...base,
      id: 'errors',
      title: 'Operations and errors per second',
      unit: '(REST operations fired and accepted; errors: REST, failed connects, dropped connections)',
      yFloor: 1,
      series: [
        { name: 'errors', cls: 's2', kind: 'bars', values: tl.map((e) => e.errors) },
        { name: 'fired', cls: 's3', kind: 'line', values: tl.map((e) => e.fired) },
        { name: 'accepted', cls: 's4', kind: 'line', values: tl.map((e) => e.accepted) },
      ],
    }),
  ].join('\n');
}

function latencyHistogram(buckets: readonly { le: number; count: number }[]): string {
  if (buckets.length === 0) return '<p class="muted">No latency samples.</p>';
  const w = 640;
  const h = 170;
  const m = { left: 44, right: 8, top: 16, bottom: 34 };
  const pw = w - m.left - m.right;
  const ph = h - m.top - m.bottom;
  const max = Math.max(...buckets.map((b) => b.count));
  const total = buckets.reduce((s, b) => s + b.count, 0);
  const slot = pw / buckets.length;
  const out: string[] = [`<svg class="chart" data-chart="histogram" viewBox="0 0 ${w} ${h}" role="img" aria-label="latency histogram">`];
  out.push(`<line class="axis" x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}"/>`);
  let d = '';
  buckets.forEach((b, i) => {
    const bh = max > 0 ? (b.count / max) * ph : 0;
    const x0 = m.left + i * slot + slot * 0.12;
    d += `M${n1(x0)} ${n1(m.top + ph)}h${n1(slot * 0.76)}v${n1(-bh)}h${n1(-slot * 0.76)}Z`;
    const cx = m.left + (i + 0.5) * slot;
    out.push(`<text class="tick" x="${n1(cx)}" y="${m.top + ph + 14}" text-anchor="middle">≤${esc(formatMs(b.le))}</text>`);
    if (b.count > 0) {
      const pct = (b.count * 100) / total;
      out.push(`<text class="tick" x="${n1(cx)}" y="${n1(m.top + ph - bh - 3)}" text-anchor="middle">${pct >= 1 ? Math.round(pct) : pct.toFixed(1)}%</text>`);
    }
  });
  out.push(`<path data-series="count" class="bars s1" d="${d}"/>`);
  out.push(`<text class="tick" x="${m.left + pw / 2}" y="${h - 4}" text-anchor="middle">push latency, ms (upper bound of each bucket)</text>`);
  out.push('</svg>');
  return out.join('');
}

// ---- tables -------------------------------------------------------------------------------------

function table(head: string[], rows: string[][], numericFrom = 1): string {
  const th = head.map((h, i) => `<th${i >= numericFrom ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((cell, i) => `<td${i >= numericFrom ? ' class="num"' : ''}>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function status(s: string): string {
  return `<span class="status ${esc(s)}">${esc(s)}</span>`;
}

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#5f6b76;--panel:#f6f8fa;--line:#d0d7de;--grid:#e6e9ec;
--c1:#2563eb;--c2:#dc2626;--c3:#7c3aed;--c4:#059669;--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--panel:#161b22;--line:#30363d;--grid:#21262d;
--c1:#58a6ff;--c2:#ff7b72;--c3:#d2a8ff;--c4:#3fb950;--pass:#3fb950;--fail:#f85149;--warn:#d29922}}
*{box-sizing:border-box}
body{margin:0;padding:24px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1320px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 10px}
.muted,.unit{color:var(--muted)}.unit{font-weight:normal;font-size:12px}
.verdict{display:inline-block;padding:2px 10px;border-radius:6px;color:#fff;font-weight:700;margin-right:8px}
.verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}.verdict.invalid{background:var(--warn)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:16px 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card b{display:block;font-size:20px}.card span{color:var(--muted);font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
.panel{margin:0;background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;display:block}
.grid{stroke:var(--grid);stroke-width:1}.axis{stroke:var(--muted);stroke-width:1}
.marker{stroke:var(--muted);stroke-dasharray:3 3}.marker-label{fill:var(--muted);font-size:10px}
.tick{fill:var(--muted);font-size:10px}
.line{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
.area{stroke:none;opacity:.18}.bars{stroke:none}
.end-label{font-size:11px;font-weight:600}
.hit{fill:transparent}.hit:hover{fill:var(--grid)}
.line.s1,.bars.s1{stroke:var(--c1)}.bars.s1,.area.s1,.end-label.s1{fill:var(--c1)}
.line.s2{stroke:var(--c2)}.bars.s2,.area.s2,.end-label.s2{fill:var(--c2)}
.line.s3{stroke:var(--c3)}.area.s3,.end-label.s3{fill:var(--c3)}
.line.s4{stroke:var(--c4)}.area.s4,.end-label.s4{fill:var(--c4)}
.bars.s1{stroke:none}
table{border-collapse:collapse;width:100%;background:var(--panel);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td{border-bottom:none}
.status{font-weight:600}.status.pass{color:var(--pass)}.status.fail{color:var(--fail)}.status.unsupported,.status.skipped{color:var(--muted)}
.bad{color:var(--fail);font-weight:600}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
ul.reasons{margin:8px 0 0;padding-left:20px}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
footer{margin-top:28px;color:var(--muted);font-size:12px}
`;

/** Marks the page once the browser has laid out every chart with something drawn. */
const SCRIPT = `(function(){var cs=document.querySelectorAll('svg[data-chart]'),n=0;for(var i=0;i<cs.length;i++){var ps=cs[i].querySelectorAll('[data-series]'),ok=ps.length>0;for(var j=0;j<ps.length;j++){var b=ps[j].getBBox();if(!(b.width>0||b.height>0))ok=false}if(ok)n++}document.documentElement.setAttribute('data-charts-drawn',String(n));document.documentElement.setAttribute('data-charts',String(cs.length))})();`;

/** The whole page. Pure: the same report gives the same bytes. */
export function formatHtmlReport(r: LoadReport): string {
  const d = r.delivery;
  const t = r.throughput;
  const c = r.connections;
  const p = (name: string): string => {
    const v = r.figures[name];
    return typeof v === 'number' ? `${formatMs(v)} ms` : '-';
  };
  const when = new Date(r.timings.startedAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const cards: [string, string][] = [
    [`${c.opened}/${c.target}`, 'connections opened'],
    [`${t.eventsFired}`, `operations fired at ${t.fireRate.toFixed(1)}/s`],
    [formatPercent(d.total.delivered, d.total.expected), `${d.total.delivered}/${d.total.expected} delivered`],
    [p('p50'), 'push latency p50'],
    [p('p99'), 'push latency p99'],
    [r.timeline ? p('p99_max_1s') : '-', 'worst one-second p99'],
    [`${t.deliveriesPerSec.toFixed(0)}/s`, 'deliveries verified'],
  ];
  const tl = r.timeline ?? [];
  const charts = tl.length > 0 ? timelineCharts(r, tl) : '<p class="muted">This report has no timeline (it was written by an older bugzapp, or the run stopped before it began).</p>';
  const gatesAndChecks = table(
    ['', 'gate or check', 'detail'],
    [
      ...r.gates.map((g) => [status(g.pass ? 'pass' : 'fail'), `<code>${esc(g.expression)}</code>`, `actual ${esc(g.display)}`]),
      ...r.checks.map((x) => [status(x.status), esc(x.name), esc(x.detail)]),
    ],
    99,
  );
  const delivery = table(
    ['type', 'events', 'expected', 'delivered', 'missing', 'duplicated', 'misrouted', 'out of order', 'late', 'unmatched'],
    LOGGED_TYPES.map((type) => {
      const x = d.byType[type];
      const cell = (v: number, bad: boolean): string => (bad && v > 0 ? `<span class="bad">${v}</span>` : String(v));
      return [
        esc(type),
        String(x.events),
        String(x.expected),
        cell(x.delivered, false),
        cell(x.missing, true),
        cell(x.duplicated, true),
        cell(x.misrouted, true),
        cell(x.outOfOrder, true),
        cell(x.late, true),
        String(x.unmatched),
      ];
    }),
  );
  const offenders = d.firstOffenders.length
    ? `<h2>First offenders</h2><ul>${d.firstOffenders.map((o) => `<li><code>${esc(describeOffender(o))}</code></li>`).join('')}</ul>`
    : '';
  const latency = table(
    ['latency (ms)', 'count', ...LATENCY_COLUMNS.map(([l]) => l)],
    latencyRowsOf(r).map(([label, pick]) => {
      const s = pick(r);
      return [esc(label), String(s.count), ...LATENCY_COLUMNS.map(([, k]) => (s.count ? formatMs(s[k]) : '-'))];
    }),
  );
  const g = r.generator;
  const rl = r.rateLimit;
  const limit = rl.checked ?? rl.measured;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>bugzapp load: ${esc(r.verdict.toUpperCase())}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1><span class="verdict ${esc(r.verdict)}">${esc(VERDICT_TEXT[r.verdict])}</span>bugzapp load${r.aborted ? ' <span class="muted">(stopped early)</span>' : ''}</h1>
<div class="muted">${esc(describeTargets(r))} · started ${esc(when)} · ${esc((r.timings.totalMs / 1000).toFixed(1))} s in all (connect ${esc(String(r.timings.connectMs))} ms, fire ${esc(String(r.timings.fireMs))} ms, drain ${esc(String(r.timings.drainMs))} ms) · exit ${r.exitCode}</div>
${r.reasons.length ? `<ul class="reasons">${r.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}
<div class="cards">${cards.map(([v, l]) => `<div class="card"><b>${esc(v)}</b><span>${esc(l)}</span></div>`).join('')}</div>
<h2>Over time <span class="unit">seconds since the fire phase started; the connect phase is before 0</span></h2>
<div class="charts">
${charts}
</div>
<h2>Gates and checks</h2>
${gatesAndChecks}
<h2>Delivery per type</h2>
${delivery}
${offenders}
${r.resilience ? `<h2>Resilience <span class="unit">cuts, reconnects, resumes</span></h2><ul>${describeResilience(r).map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : ''}
<div class="two">
<div><h2>Latency</h2>${latency}</div>
<div><h2>Latency histogram <span class="unit">broadcasts and notifications</span></h2><figure class="panel">${latencyHistogram(r.latency.buckets)}</figure></div>
</div>
<h2>Rate limit and generator</h2>
${table(
  ['', 'what', 'detail'],
  [
    [status(rl.status), 'rate limit', esc(`${limit ? `${limit.max} per ${limit.windowMs} ms${rl.checked ? '' : ' (measured)'}` : rl.status}`)],
    ...rl.details.map((x) => [status(x.pass ? 'pass' : 'fail'), esc(x.name), esc(x.detail)]),
    [
      status(g.saturated ? 'fail' : 'pass'),
      'generator',
      esc(`CPU ${g.cpuPercent}%, event-loop lag p50 ${g.eventLoopLagMs.p50} ms, p99 ${g.eventLoopLagMs.p99} ms, max ${g.eventLoopLagMs.max} ms (bound ${g.saturationLagMs} ms)`),
    ],
  ],
  99,
)}
${r.errors.length ? `<h2>Harness errors</h2><ul>${r.errors.map((e) => `<li><code>${esc(e)}</code></li>`).join('')}</ul>` : ''}
<footer>bugzapp load report, schema ${r.schemaVersion}. Made from the JSON report; <code>bugzapp report FILE.json --html OUT.html</code> makes it again.</footer>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
