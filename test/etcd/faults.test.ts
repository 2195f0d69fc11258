/**
 * Faults of a single etcd member, against a real one: kill -9 and restart, compaction
 * while disconnected, data wiped. Each test proves the consumer sees no error and gets
 * the latest state after recovery. Every test disrupts the member: all are serial.
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import test from "ava";
import type { Etcd3 } from "etcd3";
import {
  BacklogDoneError,
  decoders,
  ETCD_WATCH_CHANNEL,
  EtcdRangeValue,
  EtcdValue,
  type EtcdWatchMessage,
} from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { deadline, recommendedClient, watchLogged } from "../helpers/faults.js";
import { collect, Gate } from "../helpers/gate.js";
import { checkLeaks } from "../helpers/leaks.js";
import { isPending } from "../helpers/pending.js";

const cluster = withCluster(test, { members: 1, memberControl: true });
checkLeaks(test, cluster);
const member = () => cluster().members[0]!;
let writer: Etcd3 | undefined;
/** A plain client for writes, made at first use (the cluster starts in a hook). */
const etcd = (): Etcd3 => {
  writer ??= cluster().client();
  return writer;
};

/** Collects `watch-created`, `watch-ended` and `read` messages for one target. */
function diagnostics(target: string): { messages: EtcdWatchMessage[] } & Disposable {
  const messages: EtcdWatchMessage[] = [];
  const listener = (message: unknown): void => {
    const event = message as EtcdWatchMessage;
    if (event.target === target) messages.push(event);
  };
  subscribe(ETCD_WATCH_CHANNEL, listener);
  return { messages, [Symbol.dispose]: () => unsubscribe(ETCD_WATCH_CHANNEL, listener) };
}

/**
 * Kills the member while a watcher of `client` waits in `get()`, restarts it, writes, and
 * returns how long after the member was healthy again the write reached the watcher.
 */
async function killAndRestart(
  t: import("ava").ExecutionContext,
  client: Etcd3,
  key: string,
): Promise<{ delivered: number; live: number }> {
  await etcd().put(key).value("before");
  const { w, log } = watchLogged(t, new EtcdValue(client, key, { decoder: decoders.text }));
  t.is(await w.get(), "before");
  const live = await log.next((s) => s.state === "live", 0, 10_000, "live");

  const pending = w.get({ signal: deadline(30_000, "the value written after the restart") });
  await member().kill();
  const stale = await log.next((s) => s.state === "stale", live.index, 10_000, "stale");
  t.true(await isPending(pending), "get() waits through the outage, without an error");

  await member().restart();
  const healthyAt = Date.now();
  const put = await etcd().put(key).value("after restart").exec();
  t.is(
    await pending,
    "after restart",
    "the pending get() returns the value written after the restart",
  );
  const elapsed = Date.now() - healthyAt;
  t.is(w.revision, Number(put.header.revision), "at the put's revision");

  const back = await log.next((s) => s.state === "live", stale.index, 10_000, "live again");
  t.is(stale.status.revision, live.status.revision, "stale keeps the resume revision");
  t.is(back.status.revision, live.status.revision, "live again, resuming where it stopped");
  t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
  return { delivered: elapsed, live: back.status.since - healthyAt };
}

test.serial(
  "kill -9 and restart: a pending get() returns the value written after the restart (recommended client)",
  async (t) => {
    const client = recommendedClient(cluster().endpoints);
    t.teardown(() => client.close());
    const { delivered, live } = await killAndRestart(t, client, "/kill/recommended");
    t.log(
      `recommended client: live ${live} ms, latest value ${delivered} ms after the member was healthy`,
    );
    t.true(
      delivered < 5000,
      `back within about a second of the member's recovery (took ${delivered} ms)`,
    );
  },
);

test.serial(
  "kill -9 and restart: a plain new Etcd3({ hosts }) recovers too, later (logged)",
  async (t) => {
    const client = cluster().client();
    const { delivered, live } = await killAndRestart(t, client, "/kill/plain");
    t.log(
      `plain client: live ${live} ms, latest value ${delivered} ms after the member was healthy`,
    );
    t.true(
      delivered < 20_000,
      `recovers, at worst once etcd3's circuit breaker half-opens (took ${delivered} ms)`,
    );
  },
);

test.serial(
  "compaction while disconnected: the resync reports keys deleted in the gap as deletions, unchanged keys not again",
  async (t) => {
    for (const key of ["a", "b", "c", "d"]) await etcd().put(`/gap/${key}`).value("1");
    using diag = diagnostics('prefix "/gap/"');
    const gate = new Gate();
    const value = new EtcdRangeValue(
      etcd(),
      { prefix: "/gap/" },
      // Holds reconnecting until the test has written and compacted.
      { decoder: decoders.text, backoff: { retry: () => gate.pass() } },
    );
    const w = value.watch();
    t.teardown(() => w.close());
    const initial: string[] = [];
    for (;;) {
      try {
        initial.push((await w.get({ backlogOnly: true })).key);
      } catch (error) {
        if (error instanceof BacklogDoneError) break;
        throw error;
      }
    }
    t.deepEqual(initial, ["/gap/a", "/gap/b", "/gap/c", "/gap/d"]);
    const before = w.revision ?? 0;

    await member().kill();
    await gate.reached; // the watch failed to reconnect and waits at the gate
    await member().restart();
    const direct = cluster().client();
    await direct.delete().key("/gap/b").exec(); // deleted in the gap
    await direct.put("/gap/c").value("2").exec(); // changed in the gap
    await direct.put("/gap/e").value("1").exec(); // created in the gap
    await direct.put("/gap/f").value("1").exec(); // created and deleted in the gap
    await direct.delete().key("/gap/f").exec();
    const compacted = await cluster().compact();
    gate.open();

    const updates = await collect(w, (u) => u.size >= 3, "the resync's updates");
    t.deepEqual(
      [...updates.values()].map((u) => [u.key, u.value]).sort(),
      [
        ["/gap/b", undefined],
        ["/gap/c", "2"],
        ["/gap/e", "1"],
      ],
      "b deleted, c changed, e created; a and d unchanged, f never seen",
    );
    for (const update of updates.values()) {
      t.true(update.revision > before, `${update.key}: a revision after the last one returned`);
    }
    t.true(await isPending(w.get()), "unchanged keys are not returned again");
    const reads = diag.messages.filter((m) => m.type === "read");
    t.is(reads.length, 2, "the initial read and one resync");
    t.true(
      (reads[1] as { revision: number }).revision >= compacted,
      "the resync read is after the compaction",
    );

    const snapshots = value.snapshots().watch();
    const snapshot = await snapshots.get();
    snapshots.close();
    t.deepEqual(Object.fromEntries(snapshot.entries), {
      "/gap/a": "1",
      "/gap/c": "2",
      "/gap/d": "1",
      "/gap/e": "1",
    });
  },
);

test.serial(
  "data wiped, new cluster at lower revisions: the watcher shows the new state, revisions never go back",
  async (t) => {
    const client = recommendedClient(cluster().endpoints);
    t.teardown(() => client.close());
    for (let i = 0; i < 50; i++) await etcd().put("/wipe/old").value(`v${i}`);
    await etcd().put("/wipe/kept").value("old");
    const value = new EtcdRangeValue(client, { prefix: "/wipe/" }, { decoder: decoders.text });
    const { w, log } = watchLogged(t, value);
    const snapshots = value.snapshots().watch();
    t.teardown(() => snapshots.close());
    t.is((await w.get()).key, "/wipe/kept");
    t.is((await w.get()).key, "/wipe/old");
    const first = await snapshots.get();
    const before = w.revision ?? 0;
    t.true(before > 50);
    const live = await log.next((s) => s.state === "live", 0, 10_000, "live");

    await cluster().wipeAndRestart();
    const direct = cluster().client();
    const put = await direct.put("/wipe/kept").value("new").exec();
    await direct.put("/wipe/fresh").value("new").exec();
    t.true(Number(put.header.revision) < before, "the new cluster's revisions are lower");

    const updates = await collect(
      w,
      (u) =>
        u.get("/wipe/fresh")?.value === "new" &&
        u.get("/wipe/kept")?.value === "new" &&
        u.has("/wipe/old"),
      "the new cluster's keys, and the deletion of the key gone with the wipe",
    );
    t.is(updates.get("/wipe/old")?.value, undefined, "a key gone with the wipe is a deletion");
    let last = before;
    for (const update of updates.values()) {
      t.true(update.revision > before, `${update.key}: revision ${update.revision} > ${before}`);
      last = Math.max(last, update.revision);
    }
    t.true((w.revision ?? 0) > before, "the watcher's revision never goes back");
    const snapshot = await snapshots.get({
      filter: (s) => s.entries.get("/wipe/fresh") === "new",
      signal: deadline(10_000, "a snapshot of the new cluster"),
    });
    t.deepEqual(Object.fromEntries(snapshot.entries), {
      "/wipe/fresh": "new",
      "/wipe/kept": "new",
    });
    t.true(snapshot.revision > first.revision, "snapshot revisions never go back");

    // Later writes continue above, in step with etcd's revisions.
    const next = await direct.put("/wipe/fresh").value("newer").exec();
    const update = await w.get({ signal: deadline(10_000, "a write after the resync") });
    t.is(update.value, "newer");
    t.true(update.revision > last, "still increasing after the resync");
    t.true(Number(next.header.revision) < update.revision, "offset above etcd's revision");
    await log.next((s) => s.state === "live", live.index + 1, 10_000, "live again");
    t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
  },
);

test.serial(
  "data wiped, the new cluster already past the old revision: the new cluster id triggers the resync",
  async (t) => {
    for (let i = 0; i < 5; i++) await etcd().put("/wipe2/old").value(`v${i}`);
    const gate = new Gate();
    const value = new EtcdRangeValue(
      etcd(),
      { prefix: "/wipe2/" },
      { decoder: decoders.text, backoff: { retry: () => gate.pass() } },
    );
    const w = value.watch();
    t.teardown(() => w.close());
    t.is((await w.get()).key, "/wipe2/old");
    const before = w.revision ?? 0;

    await member().kill();
    await gate.reached; // reconnecting waits until the new cluster is past the old revision
    await member().wipe();
    await member().start();
    const direct = cluster().client();
    await direct.put("/wipe2/early").value("new").exec(); // below the old revision
    let revision = 0;
    while (revision <= before + 10) {
      revision = Number((await direct.put("/elsewhere").value("x").exec()).header.revision);
    }
    gate.open();

    const updates = await collect(
      w,
      (u) => u.has("/wipe2/old") && u.has("/wipe2/early"),
      "the deletion of the wiped key and the new key",
    );
    t.is(updates.get("/wipe2/old")?.value, undefined, "a key gone with the wipe is a deletion");
    t.is(
      updates.get("/wipe2/early")?.value,
      "new",
      "a key written before the old revision is found",
    );
    for (const update of updates.values()) t.true(update.revision > before);
  },
);
