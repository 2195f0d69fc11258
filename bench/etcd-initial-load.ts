/**
 * Row 9: initial load of a 100,000-key range. event-value: a new `EtcdRangeValue` on the
 * prefix, `snapshots().watch().get()` (the whole range in hand, as a `Map`). Baseline:
 * raw paged `getAll()` at one revision, 1000 keys per page (the library's page size),
 * collecting the same `Map` of key string to value bytes. Same consumer client,
 * alternating rounds; from just before the value (or the first page) is asked for to the
 * moment the whole range is in a `Map`.
 */

import { EtcdRangeValue } from "../src/index.js";
import { alternate, type BenchEtcd, type EtcdSizes, loadKeys, now } from "./etcd-common.js";
import { median, type Row, ratioAtMostRow } from "./report.js";

const PREFIX = "/bench/load/";
const END = "/bench/load0"; // the prefix's range end: "/" + 1 is "0"
const PAGE = 1000;

const keyOf = (i: number): string => `${PREFIX}${String(i).padStart(6, "0")}`;

async function ours(etcd: BenchEtcd, keys: number): Promise<number> {
  const start = now();
  const range = new EtcdRangeValue(etcd.consumer, { prefix: PREFIX });
  const watcher = range.snapshots().watch();
  const snapshot = await watcher.get();
  const ms = now() - start;
  watcher.close();
  if (snapshot.entries.size !== keys) throw new Error(`loaded ${snapshot.entries.size} keys`);
  return ms;
}

async function raw(etcd: BenchEtcd, keys: number): Promise<number> {
  const client = etcd.consumer;
  const start = now();
  const entries = new Map<string, Buffer>();
  let from: Buffer = Buffer.from(PREFIX);
  let revision: string | undefined;
  for (;;) {
    const builder = client.getAll().inRange({ start: from, end: END }).limit(PAGE);
    if (revision !== undefined) builder.revision(revision);
    const response = await builder.exec();
    revision ??= response.header.revision;
    for (const kv of response.kvs) entries.set(kv.key.toString(), kv.value);
    const last = response.kvs.at(-1);
    if (!response.more || last === undefined) break;
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
  const ms = now() - start;
  if (entries.size !== keys) throw new Error(`loaded ${entries.size} keys`);
  return ms;
}

/** Row 9. */
export async function initialLoadRow(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row> {
  const keys = sizes.loadKeys;
  await loadKeys(etcd.writer, keys, keyOf, (i) => JSON.stringify({ n: i, name: `item ${i}` }));
  const result = await alternate(
    sizes.rounds,
    () => ours(etcd, keys),
    () => raw(etcd, keys),
    { ours: () => ours(etcd, keys), baseline: () => raw(etcd, keys) },
  );
  return ratioAtMostRow(
    {
      id: 9,
      measurement: `initial load of a ${keys.toLocaleString("en-US")}-key range into a Map`,
      unit: "ms",
      ours: median(result.ours),
      baseline: median(result.baseline),
      baselineName: `raw paged getAll() at one revision, ${PAGE} per page`,
      note: "event-value: `snapshots().watch().get()` on a new EtcdRangeValue (its read is paged the same way, then the watch is opened).",
    },
    1.2,
  );
}
