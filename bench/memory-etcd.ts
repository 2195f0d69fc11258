/**
 * Row 13: `MemoryEtcd` against real etcd, in the same run.
 *
 * - Suites: the library's etcd suites that run on both stores from one definition
 *   (test/etcd/etcd-value.test.ts, range-value.test.ts, faults-backends.test.ts: the
 *   watcher contract for EtcdValue and EtcdRangeValue, the value and range tests, the
 *   faults), each side a child `ava` run of those files with `EVENT_VALUE_BACKENDS=memory`
 *   or `=etcd`, rounds alternating which side goes first. The figure is the child's wall
 *   time, from spawn to exit: ava's start (the same for both) and, on etcd, the member's
 *   start and stop are part of it, as they are of a test run.
 * - Latency: row 4's sequential put→get latency, an `EtcdValue` watcher doing `await
 *   get()` in a loop, on a `MemoryEtcd` client (ours) and on the etcd member's client
 *   (the baseline), alternating rounds, the same code on both.
 */

import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { MemoryEtcd } from "../src/index.js";
import { alternate, type BenchEtcd, type EtcdSizes, now, percentile } from "./etcd-common.js";
import { latencyRound, oursConsumer } from "./etcd-latency.js";
import { fmt, median, type Row, ratioAtMostRow } from "./report.js";

const ROOT = resolve(import.meta.dirname, "..");
/** The suites of the full run; the smoke run takes the first, and one of its tests. */
const SUITES = [
  "test/etcd/etcd-value.test.ts",
  "test/etcd/range-value.test.ts",
  "test/etcd/faults-backends.test.ts",
];

/** Runs the suites on `backend` in a child ava; resolves with its wall time in ms. */
function suiteRun(backend: "memory" | "etcd", match: string | undefined): Promise<number> {
  const args = [
    resolve(ROOT, "node_modules/ava/entrypoints/cli.mjs"),
    ...(match === undefined ? SUITES : SUITES.slice(0, 1)),
    ...(match === undefined ? [] : ["--match", match]),
  ];
  const start = now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, EVENT_VALUE_BACKENDS: backend },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", fail);
    child.on("exit", (code) => {
      const elapsed = now() - start;
      if (code === 0) done(elapsed);
      else
        fail(new Error(`the suites failed on ${backend} (exit ${code}):\n${output.slice(-4000)}`));
    });
  });
}

/** Row 13 (three rows: the suites' wall time, latency p50 and p99). */
export async function memoryEtcdRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  const suites = await alternate(
    sizes.suiteRounds,
    () => suiteRun("memory", sizes.suiteMatch),
    () => suiteRun("etcd", sizes.suiteMatch),
  );
  const twin = new MemoryEtcd();
  const onTwin = { writer: twin.client(), consumer: twin.client() };
  const puts = sizes.latencyPuts;
  const warmUp = Math.min(4000, 20 * puts);
  let latency: { ours: number[][]; baseline: number[][] };
  try {
    latency = await alternate(
      sizes.latencyRounds,
      () => latencyRound(onTwin, oursConsumer, puts),
      () => latencyRound(etcd, oursConsumer, puts),
      {
        ours: () => latencyRound(onTwin, oursConsumer, warmUp),
        baseline: () => latencyRound(etcd, oursConsumer, warmUp),
      },
      10,
    );
  } finally {
    onTwin.writer.close();
    onTwin.consumer.close();
    twin.close();
  }
  const files = (sizes.suiteMatch === undefined ? SUITES : SUITES.slice(0, 1))
    .map((file) => file.replace("test/etcd/", ""))
    .join(", ");
  const rows: Row[] = [];
  // The smoke run skips the suites (two child ava runs take a minute on 2 busy cores).
  if (sizes.suiteRounds > 0) {
    rows.push(
      ratioAtMostRow(
        {
          id: 13,
          measurement: `the library's etcd suites (${files}${sizes.suiteMatch === undefined ? "" : `, --match "${sizes.suiteMatch}"`}), wall time of an ava run`,
          unit: "ms",
          ours: median(suites.ours),
          baseline: median(suites.baseline),
          baselineName: "the same suites on a real etcd member",
          note: `MemoryEtcd: median of ${sizes.suiteRounds} alternating child ava runs per side (${suites.ours.map(fmt).join(", ")} ms vs ${suites.baseline.map(fmt).join(", ")} ms); each run includes ava's start, and on etcd the member's start and stop.`,
        },
        0.5,
      ),
    );
  }
  const all = { ours: latency.ours.flat(), baseline: latency.baseline.flat() };
  for (const p of [50, 99]) {
    rows.push(
      ratioAtMostRow(
        {
          id: 13,
          measurement: `put→get latency of an EtcdValue on MemoryEtcd, p${p}, ${all.ours.length.toLocaleString("en-US")} puts per side`,
          unit: "ms",
          ours: percentile(all.ours, p),
          baseline: percentile(all.baseline, p),
          baselineName: "the same on a real etcd member",
        },
        1,
      ),
    );
  }
  return rows;
}
