// Time-series charts with uPlot (canvas; ~50 KB, no dependencies, fast for
// thousands of points). Every chart names its unit on the y axis and its time
// zone on the x axis; thresholds (alert rules, budget lines) are drawn as
// dashed horizontal lines with their label.
import { timeZoneLabel } from './format.js';
import { html, useEffect, useRef } from './lib.js';
import uPlot from './vendor/uPlot.esm.js';

const PALETTE = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6'];

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

const logFloor = (v) => 10 ** Math.floor(Math.log10(Math.max(v ?? 1, 1e-3)));
const logCeil = (v) => 10 ** Math.ceil(Math.log10(Math.max(v ?? 1, 1e-3)));

/** Axis labels with as many decimals as the tick step needs: 0.0025, 0.005 … or 1k, 2.5k. */
function tickLabels(vals, log) {
  const step = log ? 0 : Math.abs((vals[1] ?? 0) - (vals[0] ?? 0));
  return vals.map((v) => {
    if (v === null || v === undefined) return '';
    if (Math.abs(v) >= 1000) return `${+(v / 1000).toFixed(1)}k`;
    const digits = log
      ? Math.max(0, -Math.floor(Math.log10(Math.abs(v) || 1)))
      : step > 0
        ? Math.max(0, -Math.floor(Math.log10(step)))
        : 2;
    return v.toFixed(Math.min(6, digits));
  });
}

function powersOfTen(min, max) {
  const out = [];
  for (let v = logFloor(min); v <= max * 1.0001; v *= 10) out.push(v);
  return out;
}

const pad = (n) => String(n).padStart(2, '0');

/** Time-axis labels in the chart's zone: dates for spans over two days, else hours and minutes (and seconds when short). */
function timeLabels(splits, utc) {
  const span = (splits.at(-1) ?? 0) - (splits[0] ?? 0);
  return splits.map((ts) => {
    const d = new Date(ts);
    const [mo, da, h, mi, se] = utc
      ? [d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      : [d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
    if (span > 2 * 86_400_000) return h === 0 && mi === 0 ? `${pad(mo)}-${pad(da)}` : '';
    if (span > 20 * 60_000) return `${pad(h)}:${pad(mi)}`;
    return `${pad(h)}:${pad(mi)}:${pad(se)}`;
  });
}

/** Draws `thresholds` ([{ value, label, tone }]) across the plot. */
function thresholdPlugin(thresholds) {
  return {
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const { left, top, width, height } = u.bbox;
          for (const t of thresholds) {
            const y = u.valToPos(t.value, 'y', true);
            if (y < top || y > top + height) continue;
            ctx.save();
            ctx.strokeStyle = cssVar(
              t.tone === 'critical' ? '--bad' : t.tone === 'projection' ? '--muted' : '--warn',
            );
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.lineWidth = devicePixelRatio;
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
            ctx.fillStyle = ctx.strokeStyle;
            ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
            ctx.textAlign = 'right';
            ctx.fillText(t.label, left + width - 4 * devicePixelRatio, y - 4 * devicePixelRatio);
            ctx.restore();
          }
        },
      ],
    },
  };
}

/**
 * A line (or bar) chart over time. `x`: ms since epoch; `series`: [{ label,
 * values }]; `unit`: shown on the y axis and in the legend; `utc`: label and
 * draw days in UTC (ledger days, budget periods) instead of the browser's zone.
 */
export function Chart({
  title,
  x,
  series,
  unit,
  thresholds = [],
  utc = false,
  bars = false,
  log = false,
  xRange,
  height = 220,
  format,
}) {
  const box = useRef(null);
  const plot = useRef(null);
  const theme = document.documentElement.dataset.theme ?? '';
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const fmt = format ?? ((v) => (v === null || v === undefined ? '–' : `${+v.toFixed(2)} ${unit}`));
    const zone = utc ? 'UTC' : timeZoneLabel();
    const axisColor = cssVar('--muted');
    const grid = { stroke: cssVar('--grid'), width: 1 };
    const top = Math.max(0, ...thresholds.map((t) => t.value * 1.1));
    const opts = {
      width: Math.max(240, el.clientWidth),
      height,
      ms: 1,
      tzDate: utc ? (ts) => uPlot.tzDate(new Date(ts), 'Etc/UTC') : (ts) => new Date(ts),
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: xRange ? { time: true, range: () => xRange } : { time: true },
        y: log
          ? { distr: 3, log: 10, range: (_u, min, max) => [logFloor(min), logCeil(Math.max(top, max ?? 1))] }
          : { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(top, max ?? 0, 1e-9) * 1.05] },
      },
      axes: [
        {
          stroke: axisColor,
          grid,
          ticks: grid,
          label: `time, ${zone}`,
          labelSize: 18,
          labelFont: '12px system-ui',
          values: (_u, splits) => timeLabels(splits, utc),
          space: 70,
        },
        {
          stroke: axisColor,
          grid,
          ticks: grid,
          label: unit,
          labelSize: 18,
          labelFont: '12px system-ui',
          size: 60,
          values: (_u, vals) => tickLabels(vals, log),
          // On a log scale: a line per power of ten only.
          splits: log ? (_u, _i, min, max) => powersOfTen(min, max) : undefined,
        },
      ],
      series: [
        { label: utc ? 'UTC' : 'time' },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: cssVar(s.color ?? PALETTE[i % PALETTE.length]),
          fill: bars ? cssVar(s.color ?? PALETTE[i % PALETTE.length]) : undefined,
          width: 2,
          dash: s.dash,
          spanGaps: false,
          points: { show: bars ? false : undefined },
          paths: bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
          value: (_u, v) => fmt(v),
        })),
      ],
      plugins: thresholds.length > 0 ? [thresholdPlugin(thresholds)] : [],
    };
    const u = new uPlot(opts, [x, ...series.map((s) => s.values)], el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(240, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [JSON.stringify([x, series, thresholds, xRange]), unit, utc, bars, log, height, theme]);
  const last = series.map((s) => `${s.label} ${s.values.at(-1) ?? 'no data'}`).join(', ');
  return html`<figure class="chart">
    <figcaption>${title} <span class="muted small">· ${unit} · ${utc ? 'UTC' : timeZoneLabel()}</span></figcaption>
    <div ref=${box} role="img" aria-label=${`${title} (${unit}). Latest: ${last}.`}></div>
  </figure>`;
}
