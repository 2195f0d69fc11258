/**
 * Rows 1–3: `MemoryValue` against an RxJS `BehaviorSubject` consumed with `for await`
 * through rxjs-for-await (`latestValueFrom` for latest-wins, `eachValueFrom` for the
 * lossless buffer).
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { BehaviorSubject } from "rxjs";
import { eachValueFrom, latestValueFrom } from "rxjs-for-await";
import { Bench } from "tinybench";
import { MemoryValue } from "../src/index.js";
import { median, type Row, ratioAtMostRow } from "./report.js";

/** Sizes of a run: the real ones, or tiny ones for the smoke test. */
export interface MemorySizes {
  rounds: number;
  pingPongBatch: number;
  fanOut: number;
  stalledSets: number;
  benchTimeMs: number;
}

export const FULL_SIZES: MemorySizes = {
  rounds: 5,
  pingPongBatch: 1000,
  fanOut: 1000,
  stalledSets: 1_000_000,
  benchTimeMs: 500,
};

export const SMOKE_SIZES: MemorySizes = {
  rounds: 1,
  pingPongBatch: 10,
  fanOut: 10,
  stalledSets: 1000,
  benchTimeMs: 20,
};

/** Median ns per task call of each task, over `rounds` alternating tinybench runs. */
async function compare(
  sizes: MemorySizes,
  tasks: Record<"ours" | "baseline", () => Promise<void>>,
): Promise<{ ours: number; baseline: number }> {
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < sizes.rounds; round++) {
    const bench = new Bench({ time: sizes.benchTimeMs, warmupTime: sizes.benchTimeMs / 5 });
    bench.add("ours", tasks.ours).add("baseline", tasks.baseline);
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== "completed") throw new Error(`${task.name}: ${result.state}`);
      (task.name === "ours" ? ours : baseline).push(result.latency.p50 * 1e6);
    }
  }
  return { ours: median(ours), baseline: median(baseline) };
}

/** Row 1: one set() then the consumer's get(), in a loop; ns per update. */
async function pingPong(sizes: MemorySizes): Promise<Row> {
  const n = sizes.pingPongBatch;
  const value = new MemoryValue(0);
  const watcher = value.watch();
  await watcher.get();
  const subject = new BehaviorSubject(0);
  const iterator = latestValueFrom(subject)[Symbol.asyncIterator]();
  await iterator.next();
  const { ours, baseline } = await compare(sizes, {
    ours: async () => {
      for (let i = 0; i < n; i++) {
        const next = watcher.get();
        value.set(i);
        await next;
      }
    },
    baseline: async () => {
      for (let i = 0; i < n; i++) {
        const next = iterator.next();
        subject.next(i);
        await next;
      }
    },
  });
  watcher.close();
  await iterator.return?.();
  return row(1, "MemoryValue set→get ping-pong", "ns per update", ours / n, baseline / n, 1.0);
}

/** Row 2: N watchers waiting, one set() wakes them all; ns per woken watcher. */
async function fanOut(sizes: MemorySizes): Promise<Row> {
  const n = sizes.fanOut;
  const value = new MemoryValue(0);
  const watchers = Array.from({ length: n }, () => value.watch());
  await Promise.all(watchers.map((w) => w.get()));
  const subject = new BehaviorSubject(0);
  const iterators = Array.from({ length: n }, () =>
    latestValueFrom(subject)[Symbol.asyncIterator](),
  );
  await Promise.all(iterators.map((it) => it.next()));
  let counter = 0;
  const { ours, baseline } = await compare(sizes, {
    ours: async () => {
      const woken = watchers.map((w) => w.get());
      value.set(++counter);
      await Promise.all(woken);
    },
    baseline: async () => {
      const woken = iterators.map((it) => it.next());
      subject.next(++counter);
      await Promise.all(woken);
    },
  });
  for (const w of watchers) w.close();
  await Promise.all(iterators.map((it) => it.return?.()));
  return row(
    2,
    `MemoryValue fan-out to ${n} watchers`,
    "ns per woken watcher",
    ours / n,
    baseline / n,
    1.0,
  );
}

/** Row 3: heap growth while a watcher that stopped reading sees 1,000,000 sets. */
async function stalledHeap(sizes: MemorySizes): Promise<Row> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const growth = (run: () => void): number => {
    gc();
    const before = process.memoryUsage().heapUsed;
    run();
    gc();
    return Math.max(0, process.memoryUsage().heapUsed - before);
  };
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < sizes.rounds; round++) {
    const value = new MemoryValue({ n: 0 });
    const stalled = value.watch();
    await stalled.get();
    ours.push(
      growth(() => {
        for (let n = 1; n <= sizes.stalledSets; n++) value.set({ n });
      }),
    );
    stalled.close();
    const subject = new BehaviorSubject({ n: 0 });
    const lossless = eachValueFrom(subject)[Symbol.asyncIterator]();
    await lossless.next();
    baseline.push(
      growth(() => {
        for (let n = 1; n <= sizes.stalledSets; n++) subject.next({ n });
      }),
    );
    await lossless.return?.();
  }
  const mib = 2 ** 20;
  const oursMiB = median(ours) / mib;
  const baselineMiB = median(baseline) / mib;
  return {
    id: 3,
    measurement: `MemoryValue, ${sizes.stalledSets.toLocaleString("en-US")} sets with a stalled watcher: heap growth`,
    unit: "MiB",
    ours: oursMiB,
    baseline: baselineMiB,
    baselineName: "RxJS eachValueFrom",
    ratio: oursMiB / baselineMiB,
    target: "≤ 1 MiB growth",
    pass: oursMiB <= 1,
  };
}

function row(
  id: number,
  measurement: string,
  unit: string,
  ours: number,
  baseline: number,
  max: number,
): Row {
  const baselineName = "RxJS BehaviorSubject + latestValueFrom";
  return ratioAtMostRow(
    { id, measurement, unit, ours, baseline, baselineName },
    max,
    max.toFixed(1),
  );
}

/** Runs rows 1–3. */
export async function memoryRows(sizes: MemorySizes): Promise<Row[]> {
  return [await pingPong(sizes), await fanOut(sizes), await stalledHeap(sizes)];
}
