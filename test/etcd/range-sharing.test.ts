/**
 * What the watchers of one range share, and what each keeps (issue 13).
 *
 * Snapshots: the entries of a snapshot are one object shared by every watcher, so they
 * refuse changes, even through a cast.
 *
 * Per-key watchers under churn: a watcher that is not reading while
 * thousands of keys are created and deleted keeps nothing for them. Memory per watcher is
 * bounded by the keys it returned plus the keys present; a pending deletion of a key the
 * watcher never returned would be an entry kept per churned key (60,000 churned keys cost
 * 11 MB before), and would be returned by the next `get()`.
 */

import test, { type ExecutionContext } from "ava";
import type { Etcd3 } from "etcd3";
import { decoders, EtcdRangeValue, type KeyUpdate } from "../../src/index.js";
import { lazyClient, withCluster } from "../harness/ava.js";
import { deadline } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";
import { watcher } from "../helpers/watcher.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);
const etcd = lazyClient(cluster);

const CHURN = Number(process.env.RANGE_CHURN_KEYS ?? 1000);

/** Creates then deletes `count` keys under `prefix`, 64 at a time. */
async function churn(client: Etcd3, prefix: string, count: number): Promise<void> {
  for (let from = 0; from < count; from += 64) {
    const keys = Array.from(
      { length: Math.min(64, count - from) },
      (_, i) => `${prefix}${from + i}`,
    );
    await Promise.all(keys.map((key) => client.put(key).value("brief").exec()));
    await Promise.all(keys.map((key) => client.delete().key(key).exec()));
  }
}

/**
 * A per-key watcher and a snapshot watcher of `prefix` on one value: once the snapshot
 * watcher has seen a change, the per-key watcher has it recorded too (one shared sync).
 */
function watchers(t: ExecutionContext, prefix: string) {
  const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
  return { keys: watcher(t, value), snapshots: watcher(t, value.snapshots()) };
}

test("watch: keys created and deleted while the watcher was not reading are not reported", async (t) => {
  const prefix = "/churn/unseen/";
  await etcd().put(`${prefix}kept`).value("1");
  const { keys, snapshots } = watchers(t, prefix);
  t.like(await keys.get(), { key: `${prefix}kept`, value: "1" }, "the snapshot");
  await churn(etcd(), `${prefix}c/`, CHURN);
  await etcd().put(`${prefix}marker`).value("m");
  await snapshots.get({
    filter: (s) => s.entries.has(`${prefix}marker`),
    signal: deadline(20_000, "the marker after the churn"),
  });
  const next = await keys.get({ signal: deadline(5000, "the next update") });
  t.like(next, { key: `${prefix}marker`, value: "m" }, `the marker comes next, not a churned key`);
});

test("watch: the deletion of a key the watcher returned is reported, from the snapshot or later", async (t) => {
  const prefix = "/churn/seen/";
  await etcd().put(`${prefix}a`).value("1");
  const { keys, snapshots } = watchers(t, prefix);
  t.like(await keys.get(), { key: `${prefix}a` });
  await etcd().put(`${prefix}b`).value("2");
  t.like(await keys.get({ signal: deadline(10_000, "b") }), { key: `${prefix}b`, value: "2" });
  await etcd().delete().key(`${prefix}a`);
  await etcd().delete().key(`${prefix}b`);
  await snapshots.get({
    filter: (s) => s.entries.size === 0,
    signal: deadline(10_000, "both deletions"),
  });
  const updates: KeyUpdate<string>[] = [
    await keys.get({ signal: deadline(5000, "a deleted") }),
    await keys.get({ signal: deadline(5000, "b deleted") }),
  ];
  t.deepEqual(
    updates.map((u) => [u.key, u.value]),
    [
      [`${prefix}a`, undefined],
      [`${prefix}b`, undefined],
    ],
  );
});

test("watch: a key deleted then created again while the watcher was not reading is reported once, present", async (t) => {
  const prefix = "/churn/again/";
  await etcd().put(`${prefix}kept`).value("1");
  const { keys, snapshots } = watchers(t, prefix);
  t.like(await keys.get(), { key: `${prefix}kept` });
  await etcd().put(`${prefix}x`).value("first");
  await etcd().delete().key(`${prefix}x`);
  await etcd().put(`${prefix}x`).value("second");
  await snapshots.get({
    filter: (s) => s.entries.get(`${prefix}x`) === "second",
    signal: deadline(10_000, "x again"),
  });
  t.like(await keys.get({ signal: deadline(5000, "x") }), { key: `${prefix}x`, value: "second" });
  await etcd().put(`${prefix}kept`).value("2");
  t.like(
    await keys.get({ signal: deadline(5000, "kept") }),
    { key: `${prefix}kept`, value: "2" },
    "nothing else was pending for x",
  );
});

test("snapshots: entries are read-only, even through a cast, and another watcher's snapshot is intact", async (t) => {
  const prefix = "/sharing/read-only/";
  await etcd().put(`${prefix}a`).value("1");
  const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
  const first = await watcher(t, value.snapshots()).get();
  const second = await watcher(t, value.snapshots()).get();
  const entries = first.entries as Map<string, string>;
  t.throws(() => entries.set(`${prefix}a`, "changed"), { instanceOf: TypeError });
  t.throws(() => entries.delete(`${prefix}a`), { instanceOf: TypeError });
  t.throws(() => entries.clear(), { instanceOf: TypeError });
  t.is(second.entries.get(`${prefix}a`), "1", "what the other watcher sees is unchanged");
  const copy = new Map(first.entries);
  copy.set(`${prefix}a`, "mine");
  t.is(first.entries.get(`${prefix}a`), "1", "a copy can be changed, the shared entries not");
});
