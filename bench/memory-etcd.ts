/**
 * Row 13: `MemoryEtcd` against real etcd, in the same run.
 *
 * - Suites: the library's etcd suites that run on both stores from one definition
 *   (test/etcd/etcd-value.test.ts, range-value.test.ts, faults-backends.test.ts: the
 *   watcher contract for EtcdValue and EtcdRangeValue, the value and range tests, the
 *   faults), each side a child `ava --serial --concurrency=1` run of those files with
 *   `EVENT_VALUE_BACKENDS=memory` or `=etcd`, rounds alternating which side goes first.
 *   The figure is the time the tests themselves take: each test's body timed by the
 *   harness (`EVENT_VALUE_TEST_TIMES`, test/harness/test-times.ts), summed. Not in it:
 *   ava's and tsx's start, the member's start and stop (the twin's: its construction),
 *   hooks such as the leak checks. Serial, so that a test's time is its own, not that
 *   of the tests running beside it.
 * - Latency: row 4's sequential put→get latency, an `EtcdValue` watcher doing `await
 *   get()` in a loop, on a `MemoryEtcd` client (ours) and on the etcd member's client
 *   (the baseline), alternating rounds, the same code on both.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MemoryEtcd } from "../src/index.js";
import type { TestTime } from "../test/harness/test-times.js";
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

/** One child run: each test's time (ms) by title, and the run's wall time. */
interface SuiteRun {
  readonly tests: ReadonlyMap<string, number>;
  readonly wallMs: number;
}

/** Runs the suites on `backend` in a child ava, serially; resolves with each test's time. */
function suiteRun(backend: "memory" | "etcd", match: string | undefined): Promise<SuiteRun> {
  const dir = mkdtempSync(join(tmpdir(), "event-value-row13-"));
  const times = join(dir, "times.jsonl");
  const args = [
    resolve(ROOT, "node_modules/ava/entrypoints/cli.mjs"),
    "--serial",
    "--concurrency=1",
    ...(match === undefined ? SUITES : SUITES.slice(0, 1)),
    ...(match === undefined ? [] : ["--match", match]),
  ];
  const start = now();
  return new Promise<SuiteRun>((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, EVENT_VALUE_BACKENDS: backend, EVENT_VALUE_TEST_TIMES: times },
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
      const wallMs = now() - start;
      if (code !== 0) {
        fail(new Error(`the suites failed on ${backend} (exit ${code}):\n${output.slice(-4000)}`));
        return;
      }
      const tests = new Map<string, number>();
      for (const line of readFileSync(times, "utf8").split("\n")) {
        if (line === "") continue;
        const time = JSON.parse(line) as TestTime;
        tests.set(time.title, (tests.get(time.title) ?? 0) + time.ms);
      }
      done({ tests, wallMs });
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** The sum of a run's test times, in ms. */
function total(run: SuiteRun): number {
  let sum = 0;
  for (const ms of run.tests.values()) sum += ms;
  return sum;
}

/** The `count` tests with the largest median time over `runs`, as "title ms" parts. */
function slowest(runs: readonly SuiteRun[], count: number): string[] {
  const titles = new Set(runs.flatMap((run) => [...run.tests.keys()]));
  return [...titles]
    .map((title) => ({ title, ms: median(runs.map((run) => run.tests.get(title) ?? 0)) }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count)
    .map(
      ({ title, ms }) =>
        `"${title.length > 60 ? `${title.slice(0, 57)}..." ` : `${title}" `}${fmt(ms)}`,
    );
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
    const ours = suites.ours.map(total);
    const baseline = suites.baseline.map(total);
    const wall = (runs: readonly SuiteRun[]) => runs.map((run) => fmt(run.wallMs)).join(", ");
    rows.push(
      ratioAtMostRow(
        {
          id: 13,
          measurement: `the library's etcd suites (${files}${sizes.suiteMatch === undefined ? "" : `, --match "${sizes.suiteMatch}"`}), time of their tests, summed (ava --serial; no runner or member start)`,
          unit: "ms",
          ours: median(ours),
          baseline: median(baseline),
          baselineName: "the same suites on a real etcd member",
          note: `MemoryEtcd: median of ${sizes.suiteRounds} alternating child runs per side (${ours.map(fmt).join(", ")} ms vs ${baseline.map(fmt).join(", ")} ms; ratio of each round ${ours.map((ms, i) => fmt(ms / (baseline[i] ?? Number.NaN))).join(", ")}; whole child runs, with ava's start: ${wall(suites.ours)} vs ${wall(suites.baseline)} ms). Slowest tests, median ms: on MemoryEtcd ${slowest(suites.ours, 5).join(", ")}; on etcd ${slowest(suites.baseline, 5).join(", ")}.`,
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
