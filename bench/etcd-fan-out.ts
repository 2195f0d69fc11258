/**
 * Row 6: 1000 watchers of one key. event-value: one `EtcdValue`, 1000 watchers (which
 * share one etcd watch); each watcher's consumer calls `get()` in a loop. Baseline: 1000
 * raw etcd3 watchers (`client.watch().key(k).create()`), each with a `'put'` listener.
 * Same consumer client, same writer, alternating rounds.
 *
 * - Attach: from just before the first watcher is made to the moment all hold their
 *   first value and the watch is attached. event-value: every first `get()` returned and
 *   `status()` is live. Baseline (generous to it): every `create()` resolved, and one
 *   `get` of the key, run concurrently, for the value raw watchers do not deliver.
 * - Delivery: 1000 puts, 64 in flight, from just before the first put to the moment all
 *   watchers hold the last revision.
 */

import type { Etcd3, Watcher as RawWatcher } from "etcd3";
import { EtcdValue } from "../src/index.js";
import {
  alternate,
  type BenchEtcd,
  deferred,
  type EtcdSizes,
  now,
  putConcurrently,
  storeRevision,
  untilLive,
} from "./etcd-common.js";
import { median, type Row, ratioAtMostRow } from "./report.js";

const KEY = "/bench/fan-out";

interface FanOut {
  attachMs: number;
  deliveryMs: number;
}

async function deliver(
  etcd: BenchEtcd,
  sizes: EtcdSizes,
  consume: (target: number) => Promise<number>,
): Promise<number> {
  const target = (await storeRevision(etcd.writer)) + sizes.fanOutPuts;
  const done = consume(target);
  const start = now();
  const highest = await putConcurrently(sizes.fanOutPuts, sizes.inFlight, (i) =>
    etcd.writer.put(KEY).value(`v${i}`).exec(),
  );
  if (highest !== target) throw new Error(`another writer: revision ${highest}, not ${target}`);
  return (await done) - start;
}

async function oursRound(etcd: BenchEtcd, sizes: EtcdSizes): Promise<FanOut> {
  const start = now();
  const value = new EtcdValue(etcd.consumer, KEY);
  const watchers = Array.from({ length: sizes.fanOutWatchers }, () => value.watch());
  await Promise.all(watchers.map((watcher) => watcher.get()));
  await untilLive(value.status());
  const attachMs = now() - start;
  const deliveryMs = await deliver(etcd, sizes, async (target) => {
    await Promise.all(
      watchers.map(async (watcher) => {
        while ((watcher.revision as number) < target) await watcher.get();
      }),
    );
    return now();
  });
  for (const watcher of watchers) watcher.close();
  return { attachMs, deliveryMs };
}

async function rawRound(etcd: BenchEtcd, sizes: EtcdSizes): Promise<FanOut> {
  const client: Etcd3 = etcd.consumer;
  const start = now();
  const [watchers] = await Promise.all([
    Promise.all(
      Array.from({ length: sizes.fanOutWatchers }, () => client.watch().key(KEY).create()),
    ),
    client.get(KEY).buffer(),
  ]);
  const attachMs = now() - start;
  const deliveryMs = await deliver(etcd, sizes, (target) => {
    const all = deferred<number>();
    let holding = 0;
    for (const watcher of watchers) {
      let done = false;
      watcher.on("error", () => {});
      watcher.on("put", (kv) => {
        if (done || Number(kv.mod_revision) < target) return;
        done = true;
        holding += 1;
        if (holding === watchers.length) all.resolve(now());
      });
    }
    return all.promise;
  });
  await Promise.all(watchers.map((watcher: RawWatcher) => watcher.cancel()));
  return { attachMs, deliveryMs };
}

/** Row 6 (two rows: attach, delivery). */
export async function fanOutRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  const n = sizes.fanOutWatchers.toLocaleString("en-US");
  const warmUp = sizes;
  const result = await alternate(
    sizes.rounds,
    () => oursRound(etcd, sizes),
    () => rawRound(etcd, sizes),
    { ours: () => oursRound(etcd, warmUp), baseline: () => rawRound(etcd, warmUp) },
  );
  const rows: Row[] = [];
  for (const [field, what, max] of [
    ["attachMs", `${n} watchers of one key: until all hold their first value`, 0.1],
    [
      "deliveryMs",
      `${n} watchers of one key, ${sizes.fanOutPuts.toLocaleString("en-US")} puts (${sizes.inFlight} in flight): until all hold the last`,
      0.5,
    ],
  ] as const) {
    const ours = median(result.ours.map((r) => r[field]));
    const baseline = median(result.baseline.map((r) => r[field]));
    rows.push(
      ratioAtMostRow(
        {
          id: 6,
          measurement: what,
          unit: "ms",
          ours,
          baseline,
          baselineName: `${n} raw etcd3 watchers`,
        },
        max,
      ),
    );
  }
  return rows;
}
