/**
 * The faults both stores can inject (test/harness/backends.ts), and how the library
 * reacts to each, from one definition: on real etcd the fault is real (connections
 * reset through a TCP proxy, SIGSTOP, a revoke, a wiped data dir), on MemoryEtcd it is
 * the twin's own (`disconnect`, `freeze`, `expireLease`, `wipe`, `compact`), and the
 * library must react alike: resume without loss, resync, stall detection, a lease's
 * keys deleted, history replaced. Every test disturbs the whole store: all are serial.
 */

import type { ExecutionContext, TestFn } from "ava";
import { type Etcd3, EtcdLeaseInvalidError } from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  BacklogDoneError,
  decoders,
  EtcdRangeValue,
  EtcdValue,
  type Watcher,
} from "../../src/index.js";
import type { Backend } from "../harness/backends.js";
import { deadline, watchLogged } from "../helpers/faults.js";
import { collect, Gate } from "../helpers/gate.js";
import { isPending } from "../helpers/pending.js";

/** The keys of the initial snapshot, read key by key. */
async function snapshotKeys(w: Watcher<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for (;;) {
    try {
      keys.push((await w.get({ backlogOnly: true })).key);
    } catch (error) {
      if (error instanceof BacklogDoneError) return keys;
      throw error;
    }
  }
}

/** Registers the fault tests on `backend` (which needs `faults: true`). */
export function faultSuite(test: TestFn, backend: () => Backend): void {
  /** A client of the store, closed after the test. */
  function client(t: ExecutionContext): Etcd3 {
    const etcd = backend().client();
    t.teardown(() => etcd.close());
    return etcd;
  }

  test.serial(
    "disconnect: a pending get() returns the value written after the reconnect; stale, then live at the same resume revision",
    async (t) => {
      const etcd = client(t);
      const key = "/faults/disconnect/key";
      await etcd.put(key).value("before");
      const { w, log } = watchLogged(t, new EtcdValue(etcd, key, { decoder: decoders.text }));
      t.is(await w.get(), "before");
      const live = await log.next((s) => s.state === "live", 0, 10_000, "live");
      const pending = w.get({ signal: deadline(20_000, "the value written after the reconnect") });

      await backend().disconnect();
      const stale = await log.next((s) => s.state === "stale", live.index, 10_000, "stale");
      t.true(await isPending(pending), "get() waits through the outage, without an error");
      const back = await log.next((s) => s.state === "live", stale.index, 10_000, "live again");
      t.is(back.status.revision, live.status.revision, "live again, resuming where it stopped");

      const put = await etcd.put(key).value("after").exec();
      t.is(await pending, "after");
      t.is(w.revision, Number(put.header.revision), "at the put's revision");
      t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
    },
  );

  test.serial(
    "disconnect: writes made while a range watch is broken all arrive once it resumes, none lost",
    async (t) => {
      const etcd = client(t);
      const prefix = "/faults/resume/";
      await etcd.put(`${prefix}a`).value("0");
      const gate = new Gate();
      const value = new EtcdRangeValue(
        etcd,
        { prefix },
        // Holds reconnecting until the test has written.
        { decoder: decoders.text, backoff: { retry: () => gate.pass() } },
      );
      const w = value.watch();
      t.teardown(() => w.close());
      t.deepEqual(await snapshotKeys(w), [`${prefix}a`]);
      const before = w.revision ?? 0;

      await backend().disconnect();
      await gate.reached; // the watch broke and waits to reconnect
      const written = new Map<string, number>();
      for (const name of ["a", "b", "c", "d", "e"]) {
        const put = await etcd.put(`${prefix}${name}`).value("1").exec();
        written.set(`${prefix}${name}`, Number(put.header.revision));
      }
      gate.open();

      const updates = await collect(w, (u) => u.size >= written.size, "every write of the outage");
      t.deepEqual(
        Object.fromEntries([...updates.values()].map((u) => [u.key, [u.value, u.revision]])),
        Object.fromEntries([...written].map(([key, revision]) => [key, ["1", revision]])),
        "every key written in the outage, at its own revision",
      );
      t.true([...updates.values()].every((u) => u.revision > before));
      t.true(await isPending(w.get()), "nothing else");
    },
  );

  test.serial(
    "compaction while disconnected: the resync reports keys deleted in the gap as deletions, unchanged keys not again",
    async (t) => {
      const etcd = client(t);
      const prefix = "/faults/gap/";
      for (const key of ["a", "b", "c", "d"]) await etcd.put(`${prefix}${key}`).value("1");
      const gate = new Gate();
      const value = new EtcdRangeValue(
        etcd,
        { prefix },
        { decoder: decoders.text, backoff: { retry: () => gate.pass() } },
      );
      const w = value.watch();
      t.teardown(() => w.close());
      t.deepEqual(
        await snapshotKeys(w),
        ["a", "b", "c", "d"].map((k) => `${prefix}${k}`),
      );
      const before = w.revision ?? 0;

      await backend().disconnect();
      await gate.reached;
      await etcd.delete().key(`${prefix}b`).exec(); // deleted in the gap
      await etcd.put(`${prefix}c`).value("2").exec(); // changed in the gap
      await etcd.put(`${prefix}e`).value("1").exec(); // created in the gap
      await etcd.put(`${prefix}f`).value("1").exec(); // created and deleted in the gap
      await etcd.delete().key(`${prefix}f`).exec();
      await backend().compact();
      gate.open();

      const updates = await collect(w, (u) => u.size >= 3, "the resync's updates");
      t.deepEqual(
        [...updates.values()].map((u) => [u.key, u.value]).sort(),
        [
          [`${prefix}b`, undefined],
          [`${prefix}c`, "2"],
          [`${prefix}e`, "1"],
        ],
        "b deleted, c changed, e created; a and d unchanged, f never seen",
      );
      for (const update of updates.values()) {
        t.true(update.revision > before, `${update.key}: a revision after the last one returned`);
      }
      t.true(await isPending(w.get()), "unchanged keys are not returned again");
    },
  );

  test.serial(
    "freeze: the stalled watch is noticed (stale), and after the thaw it is live again and a new write arrives",
    async (t) => {
      const etcd = client(t);
      const key = "/faults/freeze/key";
      await etcd.put(key).value("before");
      // A silent stream is checked after 300 ms and must answer within 500 ms (defaults:
      // 2000 and 3000 ms), so the stall is noticed in under a second.
      const value = new EtcdValue(
        etcd,
        key,
        withInternal(
          { decoder: decoders.text },
          { tuning: { idleCheckMs: 300, answerTimeoutMs: 500 } },
        ),
      );
      const { w, log } = watchLogged(t, value);
      t.teardown(() => backend().thaw()); // teardowns run last first: before the closes
      t.is(await w.get(), "before");
      const live = await log.next((s) => s.state === "live", 0, 10_000, "live");

      await backend().freeze();
      const stale = await log.next((s) => s.state === "stale", live.index, 10_000, "stale");
      t.is(stale.status.revision, live.status.revision, "stale keeps the resume revision");
      await backend().thaw();
      await log.next((s) => s.state === "live", stale.index, 15_000, "live after the thaw");
      const put = await etcd.put(key).value("after").exec();
      t.is(await w.get({ signal: deadline(10_000, "the write after the thaw") }), "after");
      t.is(w.revision, Number(put.header.revision));
      t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
    },
  );

  test.serial(
    "expireLease: the key's watchers see the deletion; etcd3's lease reports it lost",
    async (t) => {
      const etcd = client(t);
      const key = "/faults/lease/key";
      // TTL 3 s: etcd3 sends a keepalive every second, and its answer (TTL 0) tells it.
      const lease = etcd.lease(3);
      t.teardown(() => lease.revoke().catch(() => {}));
      const lost = new Promise<Error>((resolve) => lease.once("lost", resolve));
      const id = await lease.grant();
      await lease.put(key).value("leased").exec();
      const w = new EtcdValue(etcd, key, { decoder: decoders.text }).watch();
      t.teardown(() => w.close());
      t.is(await w.get(), "leased");

      await backend().expireLease(id);
      t.is(await w.get({ signal: deadline(10_000, "the lease's deletion") }), undefined);
      const deleted = w.revision ?? 0;
      t.is(deleted, await backend().revision(), "the deletion is the store's last revision");
      const reason = await Promise.race([lost, deadlineRejects(10_000, "the lease lost")]);
      t.true(
        reason instanceof EtcdLeaseInvalidError,
        "etcd3 lost its lease: the keepalive found it gone",
      );
    },
  );

  test.serial(
    "wipe: the watcher shows the new store's state, a key gone with the wipe is a deletion, revisions never go back",
    async (t) => {
      const etcd = client(t);
      const prefix = "/faults/wipe/";
      for (let i = 0; i < 20; i++) await etcd.put(`${prefix}old`).value(`v${i}`);
      await etcd.put(`${prefix}kept`).value("old");
      const value = new EtcdRangeValue(etcd, { prefix }, { decoder: decoders.text });
      const { w, log } = watchLogged(t, value);
      const snapshots = value.snapshots().watch();
      t.teardown(() => snapshots.close());
      t.deepEqual(await snapshotKeys(w), [`${prefix}kept`, `${prefix}old`]);
      const first = await snapshots.get();
      const before = w.revision ?? 0;
      t.true(before > 20);
      const live = await log.next((s) => s.state === "live", 0, 10_000, "live");

      await backend().wipe();
      const writer = client(t);
      const put = await writer.put(`${prefix}kept`).value("new").exec();
      await writer.put(`${prefix}fresh`).value("new").exec();
      t.true(Number(put.header.revision) < before, "the new store's revisions are lower");

      const updates = await collect(
        w,
        (u) =>
          u.get(`${prefix}fresh`)?.value === "new" &&
          u.get(`${prefix}kept`)?.value === "new" &&
          u.has(`${prefix}old`),
        "the new store's keys, and the deletion of the key gone with the wipe",
      );
      t.is(updates.get(`${prefix}old`)?.value, undefined, "a key gone with the wipe is a deletion");
      for (const update of updates.values()) {
        t.true(update.revision > before, `${update.key}: revision ${update.revision} > ${before}`);
      }
      const snapshot = await snapshots.get({
        filter: (s) => s.entries.get(`${prefix}fresh`) === "new",
        signal: deadline(10_000, "a snapshot of the new store"),
      });
      t.deepEqual(Object.fromEntries(snapshot.entries), {
        [`${prefix}fresh`]: "new",
        [`${prefix}kept`]: "new",
      });
      t.true(snapshot.revision > first.revision, "snapshot revisions never go back");
      await log.next((s) => s.state === "live", live.index + 1, 10_000, "live again");
      t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
    },
  );
}

/** A promise that rejects after `ms` with an error naming `what`. */
function deadlineRejects(ms: number, what: string): Promise<never> {
  const signal = deadline(ms, what);
  return new Promise((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
