/**
 * Resync after compaction, on a store (real etcd or MemoryEtcd, see
 * test/harness/backends.ts): the resync reads the range at the compaction's revision and
 * watches from the next one, so changes made after that revision, still in etcd's
 * history, arrive as they were made (an absent key created and deleted after the
 * compaction returns the deletion, at its own revision). The tests hold the window
 * between the initial read at R and the watch from R+1 open (an internal hook) and
 * compact past R there: the watch from R+1 is refused. The tests of the port level (a
 * second compaction, a member behind) are in test/etcd/resync.test.ts.
 */

import type { TestFn } from "ava";
import type { Etcd3 } from "etcd3";
import { type InternalOptions, withInternal } from "../../src/etcd/value-options.js";
import type { EtcdValueOptions } from "../../src/etcd-types/value-options.js";
import { decoders, EtcdRangeValue, EtcdValue } from "../../src/index.js";
import type { Backend } from "../harness/backends.js";
import { deadline } from "../helpers/faults.js";

/** Options that run `inGap` once, between the first read and the first watch. */
export function holdingGap(inGap: () => Promise<void>): EtcdValueOptions<string> & InternalOptions {
  let reads = 0;
  return withInternal(
    {
      decoder: decoders.text,
    },
    {
      hooks: {
        afterRead: async () => {
          if (reads++ === 0) await inGap();
        },
      },
    },
  );
}

/**
 * Two writes outside the ranges: compacting at the current revision then refuses a watch
 * from R+1 (etcd refuses a start revision below the compaction's, not equal to it).
 */
export async function movePastTheWatch(etcd: Etcd3): Promise<void> {
  await etcd.put("/resync-at-compaction/elsewhere").value("moves the revision");
  await etcd.put("/resync-at-compaction/elsewhere").value("again");
}

/** The revision of a write's answer. */
export async function revisionOf(
  write: Promise<{ header: { revision: string } }>,
): Promise<number> {
  return Number((await write).header.revision);
}

/** Registers the resync-after-compaction tests on `backend`. */
export function resyncSuite(test: TestFn, backend: () => Backend): void {
  let client: Etcd3 | undefined;
  const etcd = (): Etcd3 => {
    client ??= backend().client();
    return client;
  };

  // Serial: a compaction must not land in another test's read→watch window.
  test.serial(
    "resync after compaction: an absent key created and deleted after the compaction returns the deletion, at its revision",
    async (t) => {
      const key = "/resync-at-compaction/absent";
      const gap = { compacted: 0, created: 0, deleted: 0 };
      const value = new EtcdValue(
        etcd(),
        key,
        holdingGap(async () => {
          await movePastTheWatch(etcd());
          gap.compacted = await backend().compact();
          gap.created = await revisionOf(etcd().put(key).value("born after the compaction").exec());
          gap.deleted = await revisionOf(etcd().delete().key(key).exec());
        }),
      );
      const w = value.watch();
      t.teardown(() => w.close());
      t.is(await w.get(), undefined, "absent at the initial read");
      const first = w.revision ?? 0;
      const signal = deadline(10_000, "the deletion made after the compaction");
      const got = await w.get({ signal, filter: (v) => v === undefined });
      t.is(got, undefined);
      t.true(gap.compacted > first + 1 && gap.deleted > gap.compacted);
      t.is(w.revision, gap.deleted, "the deletion, at its own revision: it is in etcd's history");
    },
  );

  test.serial(
    "resync after compaction: per-key watch returns a key changed and deleted after the compaction, each change at its own revision",
    async (t) => {
      const prefix = "/resync-at-compaction/range/";
      const briefBefore = await revisionOf(etcd().put(`${prefix}brief`).value("before").exec());
      const before = await revisionOf(etcd().put(`${prefix}kept`).value("before").exec());
      const gap = { compacted: 0, changed: 0, deleted: 0 };
      const value = new EtcdRangeValue(
        etcd(),
        { prefix },
        holdingGap(async () => {
          await movePastTheWatch(etcd());
          gap.compacted = await backend().compact();
          gap.changed = await revisionOf(etcd().put(`${prefix}kept`).value("after").exec());
          await etcd().put(`${prefix}brief`).value("brief").exec();
          gap.deleted = await revisionOf(etcd().delete().key(`${prefix}brief`).exec());
        }),
      );
      const w = value.watch();
      t.teardown(() => w.close());
      // The snapshot, in key order; a watcher reports deletions of keys it returned.
      t.deepEqual(
        { ...(await w.get()) },
        { key: `${prefix}brief`, value: "before", revision: briefBefore },
      );
      t.deepEqual(
        { ...(await w.get()) },
        { key: `${prefix}kept`, value: "before", revision: before },
      );
      const signal = deadline(10_000, "the changes made after the compaction");
      const latest = new Map<string, { value: string | undefined; revision: number }>();
      const done = (): boolean =>
        latest.has(`${prefix}brief`) &&
        latest.get(`${prefix}brief`)?.value === undefined &&
        latest.get(`${prefix}kept`)?.value === "after";
      while (!done()) {
        const update = await w.get({ signal });
        latest.set(update.key, { value: update.value, revision: update.revision });
      }
      t.true(gap.changed > gap.compacted, "the changes are after the compaction");
      t.deepEqual(Object.fromEntries(latest), {
        [`${prefix}kept`]: { value: "after", revision: gap.changed },
        [`${prefix}brief`]: { value: undefined, revision: gap.deleted },
      });
    },
  );
}
