/**
 * Compaction on both backends (research test list K17, K18, W3, W4, W4b), with etcd's
 * `Compact` request through the client on both.
 */

import test from "ava";
import { GRPCOutOfRangeError } from "etcd3";
import { withBackends } from "../harness/backends.js";
import { openRawWatch } from "./raw-watch.js";
import { keysOf, revisionOf } from "./test-keys.js";

withBackends(test, (test, backend) => {
  const b = (text: string): Buffer => Buffer.from(text, "latin1");
  const compacted = "11 OUT_OF_RANGE: etcdserver: mvcc: required revision has been compacted";
  const future = "11 OUT_OF_RANGE: etcdserver: mvcc: required revision is a future revision";

  test.serial(
    "K17 a range at the compact revision works, below it or in the future fails",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const first = await client.kv.put({ key: k("a"), value: b("1") });
      const second = await client.kv.put({ key: k("a"), value: b("2") });
      const at = Number(second.header.revision);
      await client.kv.compact({ revision: at });
      const kept = await client.kv.range({ key: k("a"), revision: at });
      t.deepEqual(kept.kvs[0]?.value, b("2"));
      const below = await t.throwsAsync(
        client.kv.range({ key: k("a"), revision: first.header.revision }),
        {
          instanceOf: GRPCOutOfRangeError,
        },
      );
      t.is(below?.message, compacted);
      const ahead = await t.throwsAsync(client.kv.range({ key: k("a"), revision: at + 1 }), {
        instanceOf: GRPCOutOfRangeError,
      });
      t.is(ahead?.message, future);
      const inTxn = await t.throwsAsync(
        client.kv.txn({ success: [{ request_range: { key: k("a"), revision: -1 } }] }),
        { instanceOf: GRPCOutOfRangeError },
      );
      t.is(
        inTxn?.message,
        compacted,
        "a negative revision in a txn counts as compacted once compacted",
      );
    },
  );

  test.serial(
    "K18 compacting at or below the last compaction or in the future fails; at the current revision works",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const put = await client.kv.put({ key: k("a"), value: b("1") });
      await client.kv.put({ key: k("a"), value: b("2") });
      const current = await revisionOf(client);
      const res = await client.kv.compact({ revision: current });
      t.is(res.header.revision, String(current), "compaction makes no revision");
      const again = await t.throwsAsync(client.kv.compact({ revision: current }), {
        instanceOf: GRPCOutOfRangeError,
      });
      t.is(again?.message, compacted);
      const older = await t.throwsAsync(client.kv.compact({ revision: put.header.revision }), {
        instanceOf: GRPCOutOfRangeError,
      });
      t.is(older?.message, compacted);
      const ahead = await t.throwsAsync(client.kv.compact({ revision: current + 1 }), {
        instanceOf: GRPCOutOfRangeError,
      });
      t.is(ahead?.message, future);
      t.is(await revisionOf(client), current);
    },
  );

  test.serial(
    "W3 a watch from below the compact revision is created, then cancelled with compact_revision and header revision 0",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      await client.kv.put({ key: k("a"), value: b("1") });
      const current = await revisionOf(client);
      await client.kv.compact({ revision: current });
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k("a"), start_revision: current - 1 } });
      t.like(await watch.next(), { created: true, canceled: false, watch_id: "0" });
      const cancelled = await watch.next();
      t.like(cancelled, {
        canceled: true,
        compact_revision: String(current),
        cancel_reason: "",
        watch_id: "0",
      });
      t.is(cancelled.header.revision, "0");
      t.deepEqual(cancelled.events, []);
    },
  );

  test.serial("W4 a watch from the compact revision gets the put made at it", async (t) => {
    const client = backend().client();
    const k = keysOf(t);
    const put = await client.kv.put({ key: k("a"), value: b("1") });
    await client.kv.compact({ revision: put.header.revision });
    const watch = await openRawWatch(client);
    t.teardown(() => watch.close());
    watch.write({ create_request: { key: k("a"), start_revision: put.header.revision } });
    await watch.next();
    const response = await watch.next();
    t.is(response.events[0]?.kv.mod_revision, put.header.revision);
    t.is(response.events[0]?.type, "Put");
  });

  test.serial(
    "W4b a delete at the compact revision is gone from history (etcd 3.4.23)",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      await client.kv.put({ key: k("a"), value: b("1") });
      const deleted = await client.kv.deleteRange({ key: k("a") });
      // physical: etcd drops the tombstone in a background job; the twin compacts at once.
      await client.kv.compact({ revision: deleted.header.revision, physical: true });
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k("a"), start_revision: deleted.header.revision } });
      await watch.next();
      const after = await client.kv.put({ key: k("a"), value: b("2") });
      const response = await watch.next();
      t.is(
        response.events[0]?.kv.mod_revision,
        after.header.revision,
        "the DELETE at the compact revision is not replayed",
      );
      t.is(response.events[0]?.type, "Put");
    },
  );
});
