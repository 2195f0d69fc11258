/** Benchmark results: one row per measurement, printed and written to BENCHMARKS.md. */

import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import type { CurvePoint } from "./etcd-many-keys.js";

/** One measured row: event-value against its baseline, measured in the same run. */
export interface Row {
  /** The row number of the table. */
  id: number;
  measurement: string;
  unit: string;
  /** event-value's figure (median of the rounds). */
  ours: number;
  /** The baseline's figure (median of the rounds). */
  baseline: number;
  baselineName: string;
  /** ours / baseline, or whatever the target compares. */
  ratio: number;
  /** The target, e.g. "ratio ≤ 1.0". */
  target: string;
  pass: boolean;
  /**
   * Why part of the target cannot be measured in this setting: shown in the row as not
   * applicable, with this reason, instead of a "no". `pass` is then about the rest.
   */
  notApplicable?: { part: string; reason: string };
  /** Extra figures (other percentiles, the plain-client variant). */
  note?: string;
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * A row whose target is `ours / baseline ≤ max`; `label` is how `max` is printed in the
 * target (default: as it is).
 */
export function ratioAtMostRow(
  fields: Omit<Row, "ratio" | "target" | "pass">,
  max: number,
  label = String(max),
): Row {
  const ratio = fields.ours / fields.baseline;
  return { ...fields, ratio, target: `ratio ≤ ${label}`, pass: ratio <= max };
}

/** A number for a table: 3 significant digits. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  return Number(value.toPrecision(3)).toString();
}

/** The machine, for the report. */
export function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** The rows as a Markdown table. */
export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    "| # | measurement | event-value | baseline | ratio | target | met |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.id} | ${row.measurement} (${row.unit}) | ${fmt(row.ours)} | ${fmt(row.baseline)} (${row.baselineName}) | ${fmt(row.ratio)} | ${row.target} | ${met(row)} |`,
    );
  }
  const notes = rows.filter((row) => row.note).map((row) => `- Row ${row.id}: ${row.note}`);
  return [...lines, "", ...notes].join("\n");
}

/** The "met" cell: yes, no, and what is not applicable, with why. */
function met(row: Row): string {
  const verdict = row.pass ? "yes" : "**no**";
  const na = row.notApplicable;
  return na === undefined ? verdict : `${verdict}; ${na.part}: n/a (${na.reason})`;
}

/** Prints the rows to the console. */
export function printRows(rows: readonly Row[]): void {
  console.log(markdownTable(rows));
}

/** What BENCHMARKS.md says about how the figures were made. */
export interface ReportContext {
  /** The command that made them, e.g. `npm run bench`. */
  command: string;
  /** Rounds of rows 1–3, and the default of rows 4–10 (rows that differ say so). */
  rounds: number;
  /** The etcd server version rows 4–10 ran against. */
  etcdVersion: string;
  /** The figure drawn from `curve`, relative to the repository (an SVG file). */
  figure: string;
  /** The figure's data, also shown as a table. */
  curve: readonly CurvePoint[];
}

/** The figure and its data, for BENCHMARKS.md. */
export function figureSection(context: Pick<ReportContext, "figure" | "curve">): string {
  const lines = [
    "## Set-up time and memory against the number of keys",
    "",
    `Row 7's measurement at ${context.curve.length} sizes, median of each side's rounds at each`,
    "size, drawn by `npm run bench` from the same run:",
    "",
    `![Set-up time and heap per key against the number of keys, EtcdRangeValue and raw etcd3](${context.figure})`,
    "",
    "Raw etcd3: one prefix watcher + `getAll()` in pages of 1000 (prefix), or one watcher per key + `getAll()` (per key).",
    "",
    "| keys | set-up, event-value (ms) | set-up, raw prefix (ms) | set-up, raw per key (ms) | heap per key, event-value (bytes) | heap per key, raw prefix (bytes) | heap per key, raw per key (bytes) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const { keys, ours, baseline, keyWatchers } of context.curve) {
    lines.push(
      `| ${fmt(keys)} | ${fmt(ours.ms)} | ${fmt(baseline.ms)} | ${fmt(keyWatchers.ms)} | ${fmt(ours.bytesPerKey)} | ${fmt(baseline.bytesPerKey)} | ${fmt(keyWatchers.bytesPerKey)} |`,
    );
  }
  return lines.join("\n");
}

/** Writes BENCHMARKS.md with the rows, the machine and the command. */
export function writeReport(path: string, rows: readonly Row[], context: ReportContext): void {
  const text = `# Benchmarks

Latest figures, from \`${context.command}\` on ${new Date().toISOString().slice(0, 10)}
(\`npm run bench -- --smoke\` runs tiny sizes in seconds and writes nothing; \`--rows=4,9\`
runs some rows only). Machine: ${machine()}.
Rows 4–12 run against one etcd ${context.etcdVersion} member that the benchmark starts through the
test harness, on loopback, with its data dir on tmpfs (\`/dev/shm\`) and \`--unsafe-no-fsync\`:
writes are faster than on a disk-backed member, so write-bound figures are higher than in
production, for both sides alike.
Each figure is the median of ${context.rounds} rounds unless its note says otherwise; event-value
and its baseline are measured in the same run, in alternating rounds (or both attached at
once where the note says so), on the same etcd member. These machines are shared and noisy:
compare the ratios, not the absolute figures.

${markdownTable(rows)}

${figureSection(context)}

How each row is measured: see the comments in \`bench/\` (one file per group of rows).
`;
  writeFileSync(path, text);
}
