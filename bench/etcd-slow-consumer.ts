/**
 * Row 8: a slow consumer. 100,000 puts to 100 keys while the consumer is stalled, then
 * it resumes. Each side runs in its own child process (`slow-consumer-child.ts`), so its
 * RSS is its own; this process is the writer for both (one client, 64 puts in flight).
 *
 * - event-value: a per-key watcher of an `EtcdRangeValue` on the prefix; stalled, it does
 *   not call `get()`; resumed, it calls `get()` until it holds every key's last value.
 * - Baseline: a raw etcd3 prefix watcher whose `'put'` listener, while stalled, pushes
 *   each event into an array; resumed, it applies the array to its state.
 *
 * Both first consume 60,000 warm-up puts, then stall: V8 doubles its young generation from
 * 16 to 32 MiB somewhere after 20,000 events, on both sides (seen in
 * `v8.getHeapSpaceStatistics()`: new_space only, heap used unchanged), and that is not
 * memory the stall costs. RSS growth: RSS after a full GC once every stalled event has reached
 * the process, minus RSS after a full GC when the stall began (each after two full GCs
 * 200 ms apart). Time to the final state:
 * from the resume to the consumer holding the last revision written.
 */

import { type ChildProcess, fork } from "node:child_process";
import { resolve } from "node:path";
import {
  alternate,
  type BenchEtcd,
  type EtcdSizes,
  putConcurrently,
  storeRevision,
} from "./etcd-common.js";
import { fmt, median, type Row } from "./report.js";
import type { FromChild, ToChild } from "./slow-consumer-child.js";

type Done = Extract<FromChild, { type: "done" }>;

const CHILD = resolve(import.meta.dirname, "slow-consumer-child.ts");
const MIB = 2 ** 20;

/** The next message of `child` (rejects if it exits first). */
function next<T extends FromChild["type"]>(
  child: ChildProcess,
  type: T,
): Promise<Extract<FromChild, { type: T }>> {
  return new Promise((resolvePromise, reject) => {
    const onMessage = (message: FromChild): void => {
      if (message.type !== type) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolvePromise(message as Extract<FromChild, { type: T }>);
    };
    const onExit = (code: number | null): void => {
      child.off("message", onMessage);
      reject(new Error(`slow consumer child exited (code ${code}) before "${type}"`));
    };
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

async function writeAll(
  etcd: BenchEtcd,
  prefix: string,
  count: number,
  sizes: EtcdSizes,
): Promise<number> {
  const target = (await storeRevision(etcd.writer)) + count;
  const highest = await putConcurrently(count, sizes.inFlight, (i) =>
    etcd.writer
      .put(`${prefix}${String(i % sizes.stalledKeys).padStart(3, "0")}`)
      .value(JSON.stringify({ i, at: Date.now() }))
      .exec(),
  );
  if (highest !== target) throw new Error(`another writer: revision ${highest}, not ${target}`);
  return target;
}

async function round(etcd: BenchEtcd, sizes: EtcdSizes, side: "ours" | "raw", n: number) {
  const prefix = `/bench/slow/${side}-${n}/`;
  const child = fork(CHILD, [side, etcd.endpoint, prefix], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    await next(child, "ready");
    const send = (message: ToChild): void => {
      child.send(message);
    };
    send({ type: "stall", target: await writeAll(etcd, prefix, sizes.warmUpPuts, sizes) });
    await next(child, "stalled");
    const done = next(child, "done");
    send({ type: "resume", target: await writeAll(etcd, prefix, sizes.stalledPuts, sizes) });
    const result: Done = await done;
    if (result.keys !== sizes.stalledKeys) throw new Error(`${side}: ${result.keys} keys`);
    return result;
  } finally {
    await new Promise<void>((resolveExit) => {
      if (child.exitCode !== null) resolveExit();
      else child.once("exit", () => resolveExit());
    });
  }
}

/** Row 8 (one row: RSS growth; the time to the final state is in the note). */
export async function slowConsumerRow(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row> {
  let n = 0;
  const result = await alternate(
    sizes.slowRounds,
    () => round(etcd, sizes, "ours", n++),
    () => round(etcd, sizes, "raw", n++),
  );
  const growth = (r: Done): number => (r.rssStalled - r.rssBefore) / MIB;
  const ours = median(result.ours.map(growth));
  const baseline = median(result.baseline.map(growth));
  const oursMs = median(result.ours.map((r) => r.resumeMs));
  const baselineMs = median(result.baseline.map((r) => r.resumeMs));
  const heap = (r: Done): number => (r.heapStalled - r.heapBefore) / MIB;
  const peak = (r: Done): number => (r.peakRss - r.rssBefore) / MIB;
  const puts = sizes.stalledPuts.toLocaleString("en-US");
  const list = (results: Done[], figure: (r: Done) => number): string =>
    results.map((r) => fmt(figure(r))).join(", ");
  return {
    id: 8,
    measurement: `slow consumer: ${puts} puts to ${sizes.stalledKeys} keys while stalled, RSS growth`,
    unit: "MiB",
    ours,
    baseline,
    baselineName: "raw etcd3 watcher buffering into an array",
    ratio: ours / baseline,
    target: "≤ 5 MiB growth",
    pass: ours <= 5,
    note:
      `one child process per side and round (median of ${sizes.slowRounds}), after ${sizes.warmUpPuts.toLocaleString("en-US")} warm-up puts consumed; RSS after full GCs, stall begun → all stalled events received; per round ${list(result.ours, growth)} vs ${list(result.baseline, growth)} MiB (below 0: the process returned memory while stalled). ` +
      `Heap growth ${fmt(median(result.ours.map(heap)))} vs ${fmt(median(result.baseline.map(heap)))} MiB; peak RSS growth during the stall (no GC) ${fmt(median(result.ours.map(peak)))} vs ${fmt(median(result.baseline.map(peak)))} MiB. ` +
      `Time from resume to the final state: ${fmt(oursMs)} vs ${fmt(baselineMs)} ms.`,
  };
}
