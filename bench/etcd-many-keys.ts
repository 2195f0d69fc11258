/**
 * Row 7: 10,000 keys under one prefix. event-value: one `EtcdRangeValue` on the prefix,
 * one per-key watcher. Baseline: what a user of raw etcd3 writes for the same job, one
 * prefix watcher and a paged read: `getAll()` of the prefix in pages of 1000 keys, all
 * at the first page's revision R, and one `client.watch().prefix(p)` from R+1 (created
 * while the later pages are read), keeping each key's value in a `Map`. Second
 * baseline, reported as its own line: one raw etcd3 watcher per key
 * (`client.watch().key(k).create()`, each with a `'put'` listener), plus one `getAll()`
 * of the prefix for the values (raw watchers deliver none), run concurrently. Same
 * consumer client, alternating rounds (the two baselines one after the other).
 *
 * - Set-up: from just before the value (or the first raw watcher) is made to the moment
 *   every key's value is held and the watch is attached: for event-value, the watcher's
 *   first `get()` returned and `status()` is live.
 * - Heap per key: heap used plus ArrayBuffer memory (the keys' and values' bytes), after a
 *   turn of the event loop and a full GC (`keptHeapBytes`), set up minus before, divided
 *   by the number of keys.
 */

import type { IKeyValue, Watcher as RawWatcher } from "etcd3";
import { EtcdRangeValue } from "../src/index.js";
import {
  alternate,
  type BenchEtcd,
  type EtcdSizes,
  gc,
  heapBytes,
  keptHeapBytes,
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
  const bytesPerKey = ((await keptHeapBytes()) - before) / keys;
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

/** The raw etcd3 baselines: one prefix watcher and a paged read, or one watcher per key. */
type Baseline = "prefix watcher" | "key watchers";

/** etcd3's page size of the paged read (row 9's too). */
const PAGE = 1000;

function rawRound(
  etcd: BenchEtcd,
  prefix: string,
  keys: number,
  baseline: Baseline,
): Promise<SetUp> {
  return measure(
    keys,
    () => (baseline === "prefix watcher" ? rawPrefixSetUp : rawKeysSetUp)(etcd, prefix, keys),
    async (made) => {
      const { watchers } = made as { watchers: RawWatcher[] };
      await Promise.all(watchers.map((watcher) => watcher.cancel()));
    },
  );
}

/** One prefix watcher from R+1, and the prefix read in pages at R. */
async function rawPrefixSetUp(
  etcd: BenchEtcd,
  prefix: string,
  keys: number,
): Promise<{ watchers: RawWatcher[]; values: Map<string, Buffer> }> {
  const client = etcd.consumer;
  const values = new Map<string, Buffer>();
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] as number) + 1; // the prefix's range end
  const first = await client.getAll().prefix(prefix).limit(PAGE).exec();
  const revision = Number(first.header.revision);
  const keep = (kv: IKeyValue): void => {
    values.set(kv.key.toString(), kv.value);
  };
  const watching = client
    .watch()
    .prefix(prefix)
    .startRevision(String(revision + 1))
    .create()
    .then((watcher) => {
      watcher.on("error", () => {});
      watcher.on("put", keep);
      watcher.on("delete", (kv: IKeyValue) => values.delete(kv.key.toString()));
      return watcher;
    });
  const reading = (async () => {
    for (let page = first; ; ) {
      for (const kv of page.kvs) if (!values.has(kv.key.toString())) keep(kv);
      const last = page.kvs.at(-1);
      if (!page.more || last === undefined) return;
      const from = Buffer.concat([last.key, Buffer.from([0])]);
      page = await client
        .getAll()
        .inRange({ start: from, end })
        .revision(revision)
        .limit(PAGE)
        .exec();
    }
  })();
  const [watcher] = await Promise.all([watching, reading]);
  if (values.size < keys) throw new Error(`read ${values.size} keys, not ${keys}`);
  return { watchers: [watcher], values };
}

/** One watcher per key, and one `getAll()` of the prefix. */
async function rawKeysSetUp(
  etcd: BenchEtcd,
  prefix: string,
  keys: number,
): Promise<{ watchers: RawWatcher[]; values: Map<string, Buffer> }> {
  const client = etcd.consumer;
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
}

/** What the rounds of one size measured, per side. */
interface Rounds {
  ours: SetUp[];
  prefixWatcher: SetUp[];
  keyWatchers: SetUp[];
}

/**
 * Loads `keys` keys under `prefix`, then measures the sides in `rounds` alternating
 * rounds (after one warm-up round each, the key watchers' on at most 1000 keys).
 */
async function setUpRounds(
  etcd: BenchEtcd,
  prefix: string,
  keys: number,
  rounds: number,
): Promise<Rounds> {
  await loadKeys(
    etcd.writer,
    keys,
    (i) => keyUnder(prefix, i),
    (i) => JSON.stringify({ n: i }),
  );
  const warmUp = Math.min(1000, keys);
  const result = await alternate<SetUp[]>(
    rounds,
    async () => [await oursRound(etcd, prefix, keys)],
    async () => [
      await rawRound(etcd, prefix, keys, "prefix watcher"),
      await rawRound(etcd, prefix, keys, "key watchers"),
    ],
    {
      ours: () => oursRound(etcd, prefix, keys),
      baseline: async () => {
        await rawRound(etcd, prefix, keys, "prefix watcher");
        await rawRound(etcd, prefix, warmUp, "key watchers");
      },
    },
  );
  return {
    ours: result.ours.map((round) => round[0] as SetUp),
    prefixWatcher: result.baseline.map((round) => round[0] as SetUp),
    keyWatchers: result.baseline.map((round) => round[1] as SetUp),
  };
}

/**
 * One point of the set-up curve: medians of each side at `keys` keys (`baseline`: one
 * raw prefix watcher and a paged read; `keyWatchers`: one raw watcher per key).
 */
export interface CurvePoint {
  keys: number;
  ours: SetUp;
  baseline: SetUp;
  keyWatchers: SetUp;
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
    points.push({
      keys,
      ours: mid(result.ours),
      baseline: mid(result.prefixWatcher),
      keyWatchers: mid(result.keyWatchers),
    });
  }
  return points;
}

/**
 * Row 7: set-up time and heap per key, against one raw prefix watcher and a paged read,
 * and (second lines, their targets as before) against one raw watcher per key.
 */
export async function manyKeysRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  const keys = sizes.manyKeys;
  const result = await setUpRounds(etcd, PREFIX, keys, sizes.rounds);
  const n = keys.toLocaleString("en-US");
  const rows: Row[] = [];
  const baselines = [
    ["prefixWatcher", `one raw etcd3 prefix watcher + getAll() in pages of ${PAGE}`, 1, 1],
    ["keyWatchers", `${n} raw etcd3 key watchers + getAll()`, 0.1, 0.5],
  ] as const;
  for (const [side, baselineName, maxMs, maxBytes] of baselines) {
    for (const [field, what, unit, max] of [
      ["ms", `${n} keys under one prefix: set-up until all values held and watched`, "ms", maxMs],
      ["bytesPerKey", `${n} keys under one prefix: heap per key`, "bytes", maxBytes],
    ] as const) {
      const ours = median(result.ours.map((r) => r[field]));
      const baseline = median(result[side].map((r) => r[field]));
      rows.push(
        ratioAtMostRow(
          { id: 7, measurement: what, unit, ours, baseline, baselineName },
          max,
          String(max),
        ),
      );
    }
  }
  return rows;
}
