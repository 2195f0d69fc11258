/**
 * Row 7: 10,000 keys under one prefix. event-value: one `EtcdRangeValue` on the prefix,
 * one per-key watcher. Baseline: one raw etcd3 watcher per key (`client.watch().key(k)
 * .create()`, each with a `'put'` listener keeping the key's value in a `Map`), plus one
 * `getAll()` of the prefix for the values (raw watchers deliver none), run concurrently.
 * Same consumer client, alternating rounds.
 *
 * - Set-up: from just before the value (or the first raw watcher) is made to the moment
 *   every key's value is held and the watch is attached: for event-value, the watcher's
 *   first `get()` returned and `status()` is live.
 * - Heap per key: heap used plus ArrayBuffer memory (the keys' and values' bytes), after a
 *   full GC, set up minus before, divided by the number of keys.
 */

import type { IKeyValue, Watcher as RawWatcher } from "etcd3";
import { EtcdRangeValue } from "../src/index.js";
import {
  alternate,
  type BenchEtcd,
  type EtcdSizes,
  gc,
  heapBytes,
  loadKeys,
  now,
  untilLive,
} from "./etcd-common.js";
import { median, type Row, ratioAtMostRow } from "./report.js";

const PREFIX = "/bench/many/";

/** The `i`th key under `prefix`. */
const keyUnder = (prefix: string, i: number): string => `${prefix}${String(i).padStart(6, "0")}`;

/** What one round measured: set-up time and heap per key. */
export interface SetUp {
  ms: number;
  bytesPerKey: number;
}

/**
 * Measures `setUp`: what it resolves with stays alive until the heap is measured, then
 * `tearDown` ends it.
 */
async function measure(
  keys: number,
  setUp: () => Promise<unknown>,
  tearDown: (made: unknown) => Promise<void>,
): Promise<SetUp> {
  gc();
  const before = heapBytes();
  const start = now();
  const made = await setUp();
  const ms = now() - start;
  gc();
  const bytesPerKey = (heapBytes() - before) / keys;
  await tearDown(made);
  return { ms, bytesPerKey };
}

function oursRound(etcd: BenchEtcd, prefix: string, keys: number): Promise<SetUp> {
  return measure(
    keys,
    async () => {
      const range = new EtcdRangeValue(etcd.consumer, { prefix });
      const watcher = range.watch();
      await watcher.get();
      await untilLive(range.status());
      return { range, watcher };
    },
    async (made) => (made as { watcher: { close(): void } }).watcher.close(),
  );
}

function rawRound(etcd: BenchEtcd, prefix: string, keys: number): Promise<SetUp> {
  const client = etcd.consumer;
  return measure(
    keys,
    async () => {
      const values = new Map<string, Buffer>();
      const [watchers, response] = await Promise.all([
        Promise.all(
          Array.from({ length: keys }, async (_, i) => {
            const key = keyUnder(prefix, i);
            const watcher = await client.watch().key(key).create();
            watcher.on("error", () => {});
            watcher.on("put", (kv: IKeyValue) => values.set(key, kv.value));
            return watcher;
          }),
        ),
        client.getAll().prefix(prefix).exec(),
      ]);
      for (const kv of response.kvs) values.set(kv.key.toString(), kv.value);
      if (values.size < keys) throw new Error(`read ${values.size} keys, not ${keys}`);
      return { watchers, values };
    },
    async (made) => {
      const { watchers } = made as { watchers: RawWatcher[] };
      await Promise.all(watchers.map((watcher) => watcher.cancel()));
    },
  );
}

/**
 * Loads `keys` keys under `prefix`, then measures both sides in `rounds` alternating
 * rounds (after one warm-up round each, the baseline's on at most 1000 keys).
 */
async function setUpRounds(
  etcd: BenchEtcd,
  prefix: string,
  keys: number,
  rounds: number,
): Promise<{ ours: SetUp[]; baseline: SetUp[] }> {
  await loadKeys(
    etcd.writer,
    keys,
    (i) => keyUnder(prefix, i),
    (i) => JSON.stringify({ n: i }),
  );
  const warmUp = Math.min(1000, keys);
  return alternate(
    rounds,
    () => oursRound(etcd, prefix, keys),
    () => rawRound(etcd, prefix, keys),
    { ours: () => oursRound(etcd, prefix, keys), baseline: () => rawRound(etcd, prefix, warmUp) },
  );
}

/** One point of the set-up curve: medians of both sides at `keys` keys. */
export interface CurvePoint {
  keys: number;
  ours: SetUp;
  baseline: SetUp;
}

/**
 * Row 7's measurement at each size of `sizes.curveKeys` (each under a prefix of its own,
 * `sizes.curveRounds` rounds): the data of the figure in BENCHMARKS.md.
 */
export async function manyKeysCurve(etcd: BenchEtcd, sizes: EtcdSizes): Promise<CurvePoint[]> {
  const points: CurvePoint[] = [];
  for (const keys of sizes.curveKeys) {
    const result = await setUpRounds(etcd, `/bench/curve/${keys}/`, keys, sizes.curveRounds);
    const mid = (side: SetUp[]): SetUp => ({
      ms: median(side.map((r) => r.ms)),
      bytesPerKey: median(side.map((r) => r.bytesPerKey)),
    });
    points.push({ keys, ours: mid(result.ours), baseline: mid(result.baseline) });
  }
  return points;
}

/** Row 7 (two rows: set-up time, heap per key). */
export async function manyKeysRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  const keys = sizes.manyKeys;
  const result = await setUpRounds(etcd, PREFIX, keys, sizes.rounds);
  const n = keys.toLocaleString("en-US");
  const rows: Row[] = [];
  for (const [field, what, unit, max] of [
    ["ms", `${n} keys under one prefix: set-up until all values held and watched`, "ms", 0.1],
    ["bytesPerKey", `${n} keys under one prefix: heap per key`, "bytes", 0.5],
  ] as const) {
    const ours = median(result.ours.map((r) => r[field]));
    const baseline = median(result.baseline.map((r) => r[field]));
    rows.push(
      ratioAtMostRow(
        {
          id: 7,
          measurement: what,
          unit,
          ours,
          baseline,
          baselineName: `${n} raw etcd3 key watchers + getAll()`,
        },
        max,
      ),
    );
  }
  return rows;
}
