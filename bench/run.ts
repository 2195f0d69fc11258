/**
 * `npm run bench`: event-value against its baselines in the same run; prints a table and
 * writes BENCHMARKS.md. `npm run bench -- --smoke` runs tiny sizes in seconds and writes
 * nothing (the test suite runs it so the benchmark does not rot).
 */

import { resolve } from "node:path";
import { FULL_SIZES, memoryRows, SMOKE_SIZES } from "./memory.js";
import { printRows, type Row, writeReport } from "./report.js";

const smoke = process.argv.includes("--smoke");

async function main(): Promise<Row[]> {
  const sizes = smoke ? SMOKE_SIZES : FULL_SIZES;
  const rows = [...(await memoryRows(sizes))];
  printRows(rows);
  if (!smoke) {
    writeReport(
      resolve(import.meta.dirname, "../BENCHMARKS.md"),
      rows,
      "npm run bench",
      sizes.rounds,
    );
    console.log("\nwritten to BENCHMARKS.md");
  }
  return rows;
}

await main();
