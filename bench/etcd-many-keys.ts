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

const keyOf = (i: number): string => `${PREFIX}${String(i).padStart(6, "0")}`;

interface SetUp {
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

function oursRound(etcd: BenchEtcd, keys: number): Promise<SetUp> {
  return measure(
    keys,
    async () => {
      const range = new EtcdRangeValue(etcd.consumer, { prefix: PREFIX });
      const watcher = range.watch();
      await watcher.get();
      await untilLive(range.status());
      return { range, watcher };
    },
    async (made) => (made as { watcher: { close(): void } }).watcher.close(),
  );
}

function rawRound(etcd: BenchEtcd, keys: number): Promise<SetUp> {
  const client = etcd.consumer;
  return measure(
    keys,
    async () => {
      const values = new Map<string, Buffer>();
      const [watchers, response] = await Promise.all([
        Promise.all(
          Array.from({ length: keys }, async (_, i) => {
            const key = keyOf(i);
            const watcher = await client.watch().key(key).create();
            watcher.on("error", () => {});
            watcher.on("put", (kv: IKeyValue) => values.set(key, kv.value));
            return watcher;
          }),
        ),
        client.getAll().prefix(PREFIX).exec(),
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

/** Row 7 (two rows: set-up time, heap per key). */
export async function manyKeysRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  const keys = sizes.manyKeys;
  await loadKeys(etcd.writer, keys, keyOf, (i) => JSON.stringify({ n: i }));
  const warmUp = Math.min(1000, keys);
  const result = await alternate(
    sizes.rounds,
    () => oursRound(etcd, keys),
    () => rawRound(etcd, keys),
    { ours: () => oursRound(etcd, keys), baseline: () => rawRound(etcd, warmUp) },
  );
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
