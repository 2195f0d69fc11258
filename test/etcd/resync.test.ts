/**
 * When a value reads its range again (a resync), and at which revision.
 *
 * After compaction the resync reads the range at the compaction's revision and watches
 * from the next one, so changes made after that revision, still in etcd's history, arrive
 * as they were made. Reading at the current revision instead summed them up as a
 * difference, and lost a key created and deleted after the compaction: an `EtcdValue` of
 * an absent key then never returned the newer deletion (found by the chaos test, seed 33).
 * The compaction tests hold the window between the initial read at R and the watch from
 * R+1 open (an internal hook) and compact past R there: the watch from R+1 is refused.
 * The value-level tests run on real etcd and on MemoryEtcd (test/suites/resync.ts); the
 * port-level ones below, on real etcd.
 *
 * A new watch whose member answers below the revision already applied is not taken for
 * lost history when a linearizable read shows the cluster is not behind: the member is
 * avoided and the watch created again, without a resync.
 */

import test from "ava";
import type { IRangeRequest, IWatchResponse } from "etcd3";
import { prefixRange } from "../../src/etcd/key-range.js";
import { type EtcdPort, portOf, type WatchStreamPort } from "../../src/etcd/port.js";
import { RangeSync } from "../../src/etcd/range-sync.js";
import type { SyncedChange } from "../../src/etcd/resync-diff.js";
import { DEFAULT_TUNING } from "../../src/etcd/retry-policy.js";
import { MemoryValue, type WatchStatus } from "../../src/index.js";
import { lazyClient, withCluster } from "../harness/ava.js";
import { withBackends } from "../harness/backends.js";
import { deadline } from "../helpers/faults.js";
import {
  movePastTheWatch as movePastTheWatchOn,
  resyncSuite,
  revisionOf,
} from "../suites/resync.js";

const cluster = withCluster(test, { members: 1 });
const etcd = lazyClient(cluster);

/** Two writes outside the ranges (see the suite's `movePastTheWatch`). */
const movePastTheWatch = (): Promise<void> => movePastTheWatchOn(etcd());

// Resync after compaction at the value level, on real etcd and on MemoryEtcd.
withBackends(test, resyncSuite);

test.serial(
  "resync after compaction: compacted again before the resync read, the read follows to the newer compaction",
  async (t) => {
    const prefix = "/resync-at-compaction/twice/";
    await etcd().put(`${prefix}kept`).value("before").exec();
    const client = portOf(etcd());
    const gap = { first: 0, second: 0, changed: 0, deleted: 0 };
    const readsAt: (number | undefined)[] = [];
    // The resync read at the first compaction's revision finds it compacted again.
    const port: EtcdPort = {
      ...client,
      readPage: async (request, options) => {
        readsAt.push(request.revision === undefined ? undefined : Number(request.revision));
        if (request.revision !== undefined && gap.second === 0) {
          gap.changed = await revisionOf(etcd().put(`${prefix}kept`).value("between").exec());
          await movePastTheWatch();
          gap.second = await cluster().compact();
          await etcd().put(`${prefix}brief`).value("after both").exec();
          gap.deleted = await revisionOf(etcd().delete().key(`${prefix}brief`).exec());
        }
        return client.readPage(request, options);
      },
    };
    const changes: SyncedChange[] = [];
    const count = new MemoryValue(0);
    let reads = 0;
    const sync = new RangeSync({
      port,
      range: prefixRange(Buffer.alloc(0), prefix),
      target: "twice",
      backoff: {},
      tuning: DEFAULT_TUNING,
      hooks: {
        afterRead: async () => {
          if (reads++ > 0) return;
          await movePastTheWatch();
          gap.first = await cluster().compact();
        },
      },
      listener: {
        onChanges: (batch) => {
          changes.push(...batch);
          count.set(changes.length);
        },
        onRead: () => {},
        onStatus: () => {},
        onFailure: (error) => t.fail(String(error)),
      },
    });
    sync.start();
    t.teardown(() => sync.stop());
    const counted = count.watch();
    t.teardown(() => counted.close());
    const signal = deadline(10_000, "the deletion after the second compaction");
    while (!changes.some((c) => c.key === `${prefix}brief` && c.kv === undefined)) {
      await counted.get({ signal });
    }
    t.true(gap.first > 0 && gap.second > gap.first, "compacted twice");
    t.deepEqual(
      readsAt,
      [undefined, gap.first, gap.second],
      "initial read; at the first compaction (refused); at the second",
    );
    t.deepEqual(
      changes.slice(1).map((c) => [c.key, c.kv?.value.toString(), c.revision]),
      [
        [`${prefix}kept`, "between", gap.changed],
        [`${prefix}brief`, "after both", gap.deleted - 1],
        [`${prefix}brief`, undefined, gap.deleted],
      ],
      "the change summed up by the read at the second compaction, then each later one",
    );
  },
);

test.serial(
  "member behind: a new watch on a member below the applied revision moves on, without a resync",
  async (t) => {
    const prefix = "/resync/behind/";
    await etcd().put(`${prefix}a`).value("1").exec();
    const client = portOf(etcd());
    const reads: IRangeRequest[] = [];
    const suspected: string[] = [];
    let streams = 0;
    // The second watch stream's create is answered as by a member that is far behind.
    const port: EtcdPort = {
      ...client,
      range: (request) => {
        reads.push(request);
        return client.range(request);
      },
      readPage: (request, options) => {
        reads.push(request);
        return client.readPage(request, options);
      },
      suspect: (member) => suspected.push(member),
      openWatchStream: async () => {
        const opened = await client.openWatchStream();
        if (++streams !== 2) return opened;
        const stream = opened.stream;
        const on = stream.on.bind(stream);
        const lagging = new Proxy(stream, {
          get(target, name, receiver) {
            if (name !== "on") return Reflect.get(target, name, receiver);
            return (event: string, listener: (...args: unknown[]) => void) => {
              if (event !== "data") return on(event as "data", listener);
              return on("data", (response: IWatchResponse) => {
                listener(
                  response.created
                    ? { ...response, header: { ...response.header, revision: "1" } }
                    : response,
                );
              });
            };
          },
        });
        return { stream: lagging, member: "behind:1" };
      },
    };
    const changes: SyncedChange[] = [];
    const statuses: WatchStatus[] = [];
    const count = new MemoryValue(0);
    let bumps = 0;
    let call: WatchStreamPort | undefined;
    const sync = new RangeSync({
      port,
      range: prefixRange(Buffer.alloc(0), prefix),
      target: "behind",
      backoff: {},
      tuning: DEFAULT_TUNING,
      hooks: {
        watchCreated: (created) => {
          call = created;
        },
      },
      listener: {
        onChanges: (batch) => {
          changes.push(...batch);
          count.set(++bumps);
        },
        onRead: () => {},
        onStatus: (status) => {
          statuses.push(status);
          count.set(++bumps);
        },
        onFailure: (error) => t.fail(String(error)),
      },
    });
    sync.start();
    t.teardown(() => sync.stop());
    const counted = count.watch();
    t.teardown(() => counted.close());
    const signal = deadline(10_000, "the write after the member behind");
    const until = async (done: () => boolean): Promise<void> => {
      while (!done()) await counted.get({ signal });
    };
    await until(() => call !== undefined); // the first watch is live
    call?.cancel(); // breaks it: the next stream lands on the "behind" member
    await until(() => streams >= 3 && statuses.at(-1)?.state === "live");
    const written = await revisionOf(etcd().put(`${prefix}b`).value("2").exec());
    await until(() => changes.some((c) => c.revision === written));

    const errors = statuses.map((status) => (status.error as Error | undefined)?.name);
    t.true(errors.includes("MemberBehindError"), `the member behind was noticed: ${errors}`);
    t.false(errors.includes("HistoryLostError"), "not taken for lost history");
    t.deepEqual(suspected, ["behind:1"], "the member behind is avoided");
    t.is(reads.filter((r) => r.count_only !== true).length, 1, "no resync: only the first read");
    t.deepEqual(
      changes.map((c) => [c.key, c.kv?.value.toString(), c.revision]),
      [
        [`${prefix}a`, "1", changes[0]?.revision],
        [`${prefix}b`, "2", written],
      ],
      "every change once, at its etcd revision",
    );
  },
);
