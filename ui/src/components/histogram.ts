// Alerts over time by severity: uPlot stacked bars (uPlot draws series over each other, so each
// series holds the running total up to its severity and the most severe, tallest one is drawn
// first). Dragging across the chart selects a time range; the page turns it into from/to.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { fmtCount, fmtTime } from '../format.js';
import { usePrefs } from '../prefs.js';
import type { Histogram } from '../types.js';

const ORDER = ['low', 'medium', 'high', 'critical'] as const;
const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function AlertHistogram({ data, onSelect }: { data: Histogram; onSelect: (from: number, to: number) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const prefs = usePrefs();
  const select = useRef(onSelect);
  select.current = onSelect;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = data.buckets.map((b) => Date.parse(b.key) / 1000);
    const raw = ORDER.map((s) => data.buckets.map((b) => b[s]));
    // Running totals: low, low+medium, …; drawn from the top (critical) down.
    const stacked = raw.map((_, i) => data.buckets.map((_b, j) => raw.slice(0, i + 1).reduce((sum, r) => sum + r[j]!, 0)));
    const width = data.interval_ms / 1000;
    const bars = uPlot.paths.bars!({ size: [0.8, 40], align: 1 });
    // Time labels: the time alone when the chart is within one day, else the date too; ticks
    // spaced by the label's width so that labels never run into each other.
    const first = xs[0]! * 1000;
    const last = (xs[xs.length - 1]! + width) * 1000;
    const oneDay = fmtTime(first, false).slice(0, 10) === fmtTime(last - 1, false).slice(0, 10);
    const label = (ms: number) => axisTime(ms, data.interval_ms, oneDay);
    const labelPx = 7.5 * label(first).length + 24;
    // The x series' legend entry names what the counts beside it are: the whole chart's totals
    // (within one day, whose date the axis leaves out), or the bucket under the pointer.
    const series: uPlot.Series[] = [{ label: '', value: (_u, v) => (v === null || v === undefined ? (oneDay ? `${fmtTime(first, false).slice(0, 10)}: total` : 'Total') : fmtTime(v * 1000, false)) }];
    for (let i = ORDER.length - 1; i >= 0; i--) {
      const sev = ORDER[i]!;
      const color = cssVar(`--sev-${sev}`);
      series.push({
        label: sev,
        stroke: color,
        fill: color,
        width: 0,
        paths: bars,
        points: { show: false },
        // Hovering: the bucket's count; otherwise the total over the chart.
        value: (_u, _v, _s, idx) => fmtCount(idx === null || idx === undefined ? raw[i]!.reduce((a, b) => a + b, 0) : (raw[i]![idx] ?? 0)),
      });
    }
    const grid = cssVar('--border');
    const fg = cssVar('--muted');
    const opts: uPlot.Options = {
      width: el.clientWidth || 600,
      height: 150,
      series,
      // Room on the right for half the last time label, which uPlot centres on the plot's edge.
      padding: [12, Math.ceil(labelPx / 2), 0, 0],
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales: { x: { time: true, range: (_u, min, max) => [min, max + width] }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, space: labelPx, values: (_u, splits) => splits.map((s) => label(s * 1000)) },
        // Whole counts only: no ticks between 0 and 1.
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 44, incrs: COUNT_STEPS, values: (_u, splits) => splits.map((s) => String(s)) },
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const from = u.posToVal(u.select.left, 'x') * 1000;
            const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            select.current(Math.floor(from), Math.ceil(to));
          },
        ],
      },
    };
    const stackedData = [xs, ...[...stacked].reverse()] as uPlot.AlignedData;
    plot.current?.destroy();
    plot.current = new uPlot(opts, stackedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: 150 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [data, prefs.theme, prefs.tz]);

  const total = data.buckets.reduce((n, b) => n + b.low + b.medium + b.high + b.critical, 0);
  return html`<figure class="histogram" aria-label=${`Alerts over time by severity: ${fmtCount(total)} alert${total === 1 ? '' : 's'}`}>
    <div ref=${box} class="histogram-plot"></div>
  </figure>`;
}

function axisTime(ms: number, interval: number, oneDay: boolean): string {
  const t = fmtTime(ms, false);
  if (interval >= 86_400_000) return t.slice(0, 10);
  if (interval >= 60_000) return oneDay ? t.slice(11, 16) : t.slice(5, 16);
  return t.slice(11, 19);
}
