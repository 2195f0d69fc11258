/**
 * The figure of BENCHMARKS.md, drawn by the benchmark from its own measurements: set-up
 * time and heap per key of `EtcdRangeValue` against raw etcd3 (one prefix watcher and a
 * paged read; one watcher per key), row 7's measurement, against the number of keys. An
 * SVG file, no dependency: two log–log panels, one line per side.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { CurvePoint, SetUp } from "./etcd-many-keys.js";
import { fmt } from "./report.js";

const PANEL = { width: 380, height: 260, left: 64, right: 16, top: 40, bottom: 48 };
const COLORS = { ours: "#1f6feb", baseline: "#d1242f", keyWatchers: "#9a6700" } as const;
const TITLE =
  "Set-up time and heap per key against the number of keys: EtcdRangeValue and raw etcd3 (one prefix watcher and a paged read; one watcher per key)";

/** The lines of a panel, one per side of a point. */
type Side = keyof typeof COLORS;

/** One panel: which figure of a round it plots, and how. */
interface Panel {
  title: string;
  axis: string;
  value: (setUp: SetUp) => number;
}

const SIDES: readonly Side[] = ["ours", "baseline", "keyWatchers"];

const PANELS: readonly Panel[] = [
  { title: "Set-up until every value is held and watched", axis: "ms", value: (s) => s.ms },
  { title: "Heap per key", axis: "bytes", value: (s) => s.bytesPerKey },
];

/** Writes the figure for `points` to `path` (an `.svg` file); creates its directory. */
export function writeAttachFigure(path: string, points: readonly CurvePoint[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, attachFigureSvg(points));
}

/** The figure as SVG text. */
export function attachFigureSvg(points: readonly CurvePoint[]): string {
  const width = PANEL.width * PANELS.length;
  const height = PANEL.height + 44;
  const panels = PANELS.map((panel, index) => drawPanel(panel, points, index * PANEL.width));
  const legend = [
    legendItem(16, "EtcdRangeValue (one range watch)", COLORS.ours),
    legendItem(16, "raw etcd3: one prefix watcher + paged getAll()", COLORS.baseline, 16),
    legendItem(360, "raw etcd3: one watcher per key + getAll()", COLORS.keyWatchers, 16),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${TITLE}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...panels,
    `<g transform="translate(0 ${PANEL.height + 6})">${legend.join("")}</g>`,
    "</svg>",
    "",
  ].join("\n");
}

function legendItem(x: number, label: string, color: string, dy = 0): string {
  return (
    `<line x1="${x}" y1="${8 + dy}" x2="${x + 24}" y2="${8 + dy}" stroke="${color}" stroke-width="2"/>` +
    `<text x="${x + 30}" y="${12 + dy}">${escapeXml(label)}</text>`
  );
}

function drawPanel(panel: Panel, points: readonly CurvePoint[], offset: number): string {
  const { width, height, left, right, top, bottom } = PANEL;
  const xs = points.map((p) => p.keys);
  const ys = points.flatMap((p) => SIDES.map((side) => panel.value(p[side])));
  const x = logScale(Math.min(...xs), Math.max(...xs), left, width - right);
  const [yMin, yMax] = decadeBounds(Math.min(...ys), Math.max(...ys));
  const y = logScale(yMin, yMax, height - bottom, top);
  const line = (side: Side): string => {
    const coords = points.map((p) => [x(p.keys), y(panel.value(p[side]))] as const);
    const path = coords.map(([cx, cy]) => `${cx.toFixed(1)},${cy.toFixed(1)}`).join(" ");
    const dots = coords
      .map(([cx, cy]) => `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="2.5"/>`)
      .join("");
    return `<g fill="${COLORS[side]}"><polyline points="${path}" fill="none" stroke="${COLORS[side]}" stroke-width="2"/>${dots}</g>`;
  };
  const xTicks = xs.map(
    (keys) =>
      `<text x="${x(keys).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle">${fmt(keys)}</text>`,
  );
  const yTicks = decades(yMin, yMax).map((value) => {
    const cy = y(value).toFixed(1);
    return (
      `<line x1="${left}" y1="${cy}" x2="${width - right}" y2="${cy}" stroke="#ddd"/>` +
      `<text x="${left - 6}" y="${cy}" text-anchor="end" dominant-baseline="middle">${fmt(value)}</text>`
    );
  });
  return [
    `<g transform="translate(${offset} 0)">`,
    `<text x="${left}" y="${top - 18}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<text x="${left}" y="${top - 6}">${escapeXml(panel.axis)}, log scale</text>`,
    ...yTicks,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#888"/>`,
    ...xTicks,
    `<text x="${(left + width - right) / 2}" y="${height - bottom + 32}" text-anchor="middle">keys under the prefix</text>`,
    line("keyWatchers"),
    line("baseline"),
    line("ours"),
    "</g>",
  ].join("\n");
}

/** Maps [min, max] onto [from, to] on a log scale (a flat range maps to the middle). */
function logScale(min: number, max: number, from: number, to: number): (v: number) => number {
  const lo = Math.log10(Math.max(min, 1e-9));
  const hi = Math.log10(Math.max(max, 1e-9));
  if (hi - lo < 1e-9) return () => (from + to) / 2;
  return (v) => from + ((Math.log10(Math.max(v, 1e-9)) - lo) / (hi - lo)) * (to - from);
}

/** The powers of ten just below `min` and just above `max` (values below 1 count as 1). */
function decadeBounds(min: number, max: number): [number, number] {
  const lo = 10 ** Math.floor(Math.log10(Math.max(min, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(max, 1)));
  return [lo, hi > lo ? hi : lo * 10];
}

/** The powers of ten from `min` to `max`, both powers of ten. */
function decades(min: number, max: number): number[] {
  const result: number[] = [];
  for (let e = Math.round(Math.log10(min)); e <= Math.round(Math.log10(max)); e++) {
    result.push(10 ** e);
  }
  return result;
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
