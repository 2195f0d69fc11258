/**
 * `npm run bench`: event-value against its baselines in the same run; prints a table and
 * writes BENCHMARKS.md and its figure. `npm run bench -- --smoke` runs tiny sizes in
 * seconds and writes nothing (the test suite runs it so the benchmark does not rot).
 * `--rows=4,5` runs only those rows and writes only the figure, when row 7 is among them.
 *
 * Rows 4–17 start their own etcd member through the test harness (an etcd binary on
 * PATH, see BUILD.md).
 */

import { resolve } from "node:path";
import { etcdRows, FULL_ETCD_SIZES, SMOKE_ETCD_SIZES } from "./etcd.js";
import type { CurvePoint } from "./etcd-many-keys.js";
import { attachFigureSvg, writeAttachFigure } from "./figure.js";
import { FULL_SIZES, memoryRows, SMOKE_SIZES } from "./memory.js";
import { figureSection, printRows, type Row, writeReport } from "./report.js";

const smoke = process.argv.includes("--smoke");
/** The figure, relative to bench/. */
const FIGURE = "figures/attach.svg";
const rowsArg = process.argv.find((arg) => arg.startsWith("--rows="));
const only =
  rowsArg === undefined
    ? undefined
    : new Set(rowsArg.slice("--rows=".length).split(",").map(Number));

async function main(): Promise<Row[]> {
  const sizes = smoke ? SMOKE_SIZES : FULL_SIZES;
  const etcdSizes = smoke ? SMOKE_ETCD_SIZES : FULL_ETCD_SIZES;
  const rows: Row[] = [];
  let etcdVersion = "(not run)";
  let curve: CurvePoint[] = [];
  if (only === undefined || [1, 2, 3].some((id) => only.has(id))) {
    rows.push(...(await memoryRows(sizes)).filter((row) => only?.has(row.id) ?? true));
  }
  if (
    only === undefined ||
    [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17].some((id) => only.has(id))
  ) {
    const etcd = await etcdRows(etcdSizes, only);
    rows.push(...etcd.rows);
    etcdVersion = etcd.etcdVersion;
    curve = etcd.curve;
  }
  printRows(rows);
  if (curve.length > 0) attachFigureSvg(curve); // drawn in every run, so it cannot rot
  if (!smoke && only !== undefined && curve.length > 0) {
    writeAttachFigure(resolve(import.meta.dirname, FIGURE), curve);
    console.log(`\n${figureSection({ figure: `bench/${FIGURE}`, curve })}`);
    console.log(`\nwritten to bench/${FIGURE} (BENCHMARKS.md is written by full runs only)`);
  }
  if (!smoke && only === undefined) {
    writeAttachFigure(resolve(import.meta.dirname, FIGURE), curve);
    writeReport(resolve(import.meta.dirname, "../BENCHMARKS.md"), rows, {
      command: "npm run bench",
      rounds: sizes.rounds,
      etcdVersion,
      figure: `bench/${FIGURE}`,
      curve,
    });
    console.log(`\nwritten to BENCHMARKS.md and bench/${FIGURE}`);
  }
  return rows;
}

await main();
