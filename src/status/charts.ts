import { escapeHtml } from "./format.ts";

/**
 * Bar charts as inline SVG, drawn on the server (no JavaScript). Each chart is `role="img"` with a
 * `<title>` and `<desc>` referenced by `aria-labelledby`; the page puts a `<table>` with the same numbers
 * next to it. Colours are SVG presentation attributes (no inline style, so a strict CSP holds) with at
 * least 4.5:1 contrast on white (bars #1f5fa8 6.4:1, failed #a4262c 7.3:1, axis text #4a4a4a 8.9:1);
 * failed runs are also hatched, so colour is never the only cue.
 */
export interface Bar {
  /** Short axis label, e.g. `03-10 12:00`. */
  label: string;
  value: number;
  /** The value as people read it (`1.5 MiB`). */
  valueText: string;
  /** Extra text in the bar's tooltip (`run 2026…, failed`). */
  detail: string;
  failed: boolean;
}

export interface BarChartOptions {
  id: string;
  title: string;
  description: string;
  bars: readonly Bar[];
  /** Axis tick text for a value. */
  tickText: (value: number) => string;
  /** Rounds the axis maximum up to a readable value (see niceCount, niceBytes). */
  niceMax: (max: number) => number;
  /** Ticks at whole numbers only (counts): the axis is split in 4, 5 or 2 steps, whichever divides it. */
  integerTicks?: boolean;
}

const WIDTH = 760;
const HEIGHT = 240;
const MARGIN = { top: 16, right: 16, bottom: 44, left: 76 };
const BAR_COLOUR = "#1f5fa8";
const FAILED_COLOUR = "#a4262c";
const AXIS_COLOUR = "#4a4a4a";
const GRID_COLOUR = "#d0d0d0";

export function barChart(options: BarChartOptions): string {
  const { id, bars } = options;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const max = options.niceMax(Math.max(0, ...bars.map((bar) => bar.value)));
  const ticks = options.integerTicks ? ([4, 5, 2].find((n) => Number.isInteger(max / n)) ?? 1) : 4;
  const y = (value: number): number => MARGIN.top + plotHeight - (max === 0 ? 0 : (value / max) * plotHeight);
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" id="${escapeHtml(id)}" role="img" aria-labelledby="${escapeHtml(id)}-title ${escapeHtml(id)}-desc" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" xmlns="http://www.w3.org/2000/svg">`,
    `<title id="${escapeHtml(id)}-title">${escapeHtml(options.title)}</title>`,
    `<desc id="${escapeHtml(id)}-desc">${escapeHtml(options.description)}</desc>`,
    `<defs><pattern id="${escapeHtml(id)}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${FAILED_COLOUR}"/><line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/></pattern></defs>`,
  );
  for (let tick = 0; tick <= ticks; tick++) {
    const value = (max * tick) / ticks;
    const ty = round(y(value));
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${ty}" y2="${ty}" stroke="${tick === 0 ? AXIS_COLOUR : GRID_COLOUR}" stroke-width="1"/>`,
      `<text x="${MARGIN.left - 8}" y="${ty + 4}" text-anchor="end" font-size="12" fill="${AXIS_COLOUR}">${escapeHtml(options.tickText(value))}</text>`,
    );
  }
  if (bars.length === 0) {
    parts.push(
      `<text x="${MARGIN.left + plotWidth / 2}" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" font-size="14" fill="${AXIS_COLOUR}">No runs yet</text>`,
    );
  }
  const slot = bars.length === 0 ? plotWidth : plotWidth / bars.length;
  const barWidth = Math.max(2, Math.min(40, slot * 0.7));
  const labelEvery = Math.max(1, Math.ceil(bars.length / 8));
  bars.forEach((bar, index) => {
    const x = MARGIN.left + slot * index + (slot - barWidth) / 2;
    const top = y(bar.value);
    const height = Math.max(bar.value > 0 ? 1 : 0, MARGIN.top + plotHeight - top);
    const fill = bar.failed ? `url(#${escapeHtml(id)}-hatch)` : BAR_COLOUR;
    parts.push(
      `<rect class="bar${bar.failed ? " failed" : ""}" x="${round(x)}" y="${round(MARGIN.top + plotHeight - height)}" width="${round(barWidth)}" height="${round(height)}" fill="${fill}" data-value="${bar.value}"><title>${escapeHtml(`${bar.label}: ${bar.valueText} (${bar.detail})`)}</title></rect>`,
    );
    if (index % labelEvery === 0) {
      parts.push(
        `<text x="${round(x + barWidth / 2)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle" font-size="11" fill="${AXIS_COLOUR}">${escapeHtml(bar.label)}</text>`,
      );
    }
  });
  parts.push("</svg>");
  return parts.join("");
}

/** A readable ceiling (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ): 0 → 1, 7 → 8, 27 → 30, 130 → 150. */
export function niceCount(max: number): number {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (step * magnitude >= max) return step * magnitude;
  }
  return 10 * magnitude;
}

/** `niceCount` in the binary unit the maximum falls in: 700 KiB → 800 KiB, 3.2 MiB → 4 MiB. */
export function niceBytes(max: number): number {
  if (max <= 0) return 1024;
  let unit = 1;
  while (max >= unit * 1024 && unit < 1024 ** 5) unit *= 1024;
  return niceCount(max / unit) * unit;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
