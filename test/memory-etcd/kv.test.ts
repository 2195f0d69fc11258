/**
 * KV semantics, asserted with the same exact values on a real etcd 3.4.23 member and on
 * MemoryEtcd (research test list K1–K7, K13–K16, K19–K21).
 */

import test from "ava";
import { EtcdLeaseInvalidError, GRPCInvalidArgumentError } from "etcd3";
import { withBackends } from "../harness/backends.js";
import { openRawWatch } from "./raw-watch.js";
import { keysOf, prefixOf, revisionOf } from "./test-keys.js";

withBackends(test, (test, backend) => {
  const b = (text: string): Buffer => Buffer.from(text, "latin1");

  test.serial(
    "K1 a fresh store is at revision 1 and the first put gets create = mod = 2",
    async (t) => {
      const client = backend().client();
      const empty = await client.kv.range({ key: b("\0"), range_end: b("\0") });
      t.is(empty.header.revision, "1", "an empty cluster answers revision 1");
      t.is(empty.count, "0");
      t.deepEqual(empty.kvs, []);
      const put = await client.kv.put({ key: b("k1") });
      t.is(put.header.revision, "2");
      const [kv] = (await client.kv.range({ key: b("k1") })).kvs;
      t.is(kv?.create_revision, "2");
      t.is(kv?.mod_revision, "2");
      t.is(kv?.version, "1");
      t.is(kv?.lease, "0");
      t.is(put.prev_kv as unknown, null, "no prev_kv unless asked");
      await client.kv.deleteRange({ key: b("\0"), range_end: b("\0") });
    },
  );

  test.serial("K2 putting the same value twice bumps revision and version each time", async (t) => {
    const client = backend().client();
    const key = `${prefixOf(t)}k`;
    const first = await client.kv.put({ key: b(key), value: b("v") });
    const second = await client.kv.put({ key: b(key), value: b("v"), prev_kv: true });
    t.is(Number(second.header.revision), Number(first.header.revision) + 1);
    t.is(second.prev_kv?.version, "1");
    t.deepEqual(second.prev_kv?.value, b("v"));
    const [kv] = (await client.kv.range({ key: b(key) })).kvs;
    t.is(kv?.version, "2");
    t.is(kv?.create_revision, first.header.revision);
    t.is(kv?.mod_revision, second.header.revision);
  });

  test.serial("K3 deleting nothing changes no revision and answers deleted 0", async (t) => {
    const client = backend().client();
    const p = prefixOf(t);
    const before = await revisionOf(client);
    const single = await client.kv.deleteRange({ key: b(`${p}missing`) });
    t.is(single.deleted, "0");
    t.is(Number(single.header.revision), before);
    const prefix = await client.kv.deleteRange({ key: b(p), range_end: b(`${p.slice(0, -1)}0`) });
    t.is(prefix.deleted, "0");
    t.deepEqual(prefix.prev_kvs, []);
    t.is(await revisionOf(client), before, "the revision did not move");
  });

  test.serial(
    "K4 a key re-created after a delete starts at version 1 with a new create revision; history keeps the old one",
    async (t) => {
      const client = backend().client();
      const key = b(`${prefixOf(t)}k`);
      const first = await client.kv.put({ key, value: b("1") });
      const deleted = await client.kv.deleteRange({ key, prev_kv: true });
      t.is(deleted.deleted, "1");
      t.is(deleted.prev_kvs[0]?.version, "1");
      t.is(Number(deleted.header.revision), Number(first.header.revision) + 1);
      const again = await client.kv.put({ key, value: b("2") });
      const [kv] = (await client.kv.range({ key })).kvs;
      t.is(kv?.version, "1");
      t.is(kv?.create_revision, again.header.revision);
      const old = await client.kv.range({ key, revision: first.header.revision });
      t.deepEqual(old.kvs[0]?.value, b("1"));
      t.is(
        old.header.revision,
        again.header.revision,
        "a historical read reports the current revision",
      );
      const gone = await client.kv.range({ key, revision: deleted.header.revision });
      t.is(gone.count, "0");
    },
  );

  test.serial(
    "K6 a read-only txn and a failed compare without writes change no revision",
    async (t) => {
      const client = backend().client();
      const key = b(`${prefixOf(t)}k`);
      await client.kv.put({ key, value: b("v") });
      const before = await revisionOf(client);
      const readOnly = await client.kv.txn({ success: [{ request_range: { key } }] });
      t.true(readOnly.succeeded);
      t.is(Number(readOnly.header.revision), before);
      const failed = await client.kv.txn({
        compare: [{ key, target: "Value", result: "Equal", value: b("other") }],
        success: [{ request_put: { key, value: b("x") } }],
        failure: [{ request_range: { key } }],
      });
      t.false(failed.succeeded);
      t.is(Number(failed.header.revision), before);
      t.is((failed.responses[0] as { response?: string } | undefined)?.response, "response_range");
      t.is(await revisionOf(client), before);
    },
  );

  test.serial(
    "K7 a range after a put in one txn sees the put; sub-headers carry only the revision",
    async (t) => {
      const client = backend().client();
      const key = b(`${prefixOf(t)}k`);
      const before = await revisionOf(client);
      const res = await client.kv.txn({
        success: [
          { request_range: { key } },
          { request_put: { key, value: b("new") } },
          { request_range: { key } },
          { request_delete_range: { key: b(`${prefixOf(t)}none`) } },
        ],
      });
      const [range1, put, range2, del] = res.responses;
      t.is(Number(res.header.revision), before + 1);
      t.is(range1?.response_range?.count, "0");
      t.is(
        range1?.response_range?.header.revision,
        String(before),
        "before any write: the begin revision",
      );
      t.is(put?.response_put?.header.revision, String(before + 1));
      t.deepEqual(range2?.response_range?.kvs[0]?.value, b("new"));
      t.is(range2?.response_range?.header.revision, String(before + 1));
      t.is(del?.response_delete_range?.header.revision, String(before + 1));
      t.deepEqual(put?.response_put?.header, {
        cluster_id: "0",
        member_id: "0",
        revision: String(before + 1),
        raft_term: "0",
      });
      t.not(res.header.cluster_id, "0");
    },
  );

  test.serial("K13 count is taken before filters and more only when the limit cut", async (t) => {
    const client = backend().client();
    const k = keysOf(t);
    const first = await client.kv.put({ key: k("a"), value: b("1") });
    for (const name of ["b", "c", "d"]) await client.kv.put({ key: k(name), value: b(name) });
    const all = await client.kv.range({ key: k("a"), range_end: k("z") });
    t.is(all.count, "4");
    t.false(all.more);
    const limited = await client.kv.range({ key: k("a"), range_end: k("z"), limit: 2 });
    t.is(limited.count, "4");
    t.true(limited.more);
    t.deepEqual(limited.kvs.map(k.of), ["a", "b"]);
    const filtered = await client.kv.range({
      key: k("a"),
      range_end: k("z"),
      min_mod_revision: Number(first.header.revision) + 1,
      limit: 2,
    });
    t.is(filtered.count, "4", "count ignores min_mod_revision");
    t.true(filtered.more);
    t.deepEqual(filtered.kvs.map(k.of), ["b", "c"]);
    const exact = await client.kv.range({ key: k("a"), range_end: k("z"), limit: 4 });
    t.false(exact.more, "a limit equal to the total does not set more");
  });

  test.serial("K14 sort by every target and order; ties keep key order", async (t) => {
    const client = backend().client();
    const k = keysOf(t);
    await client.kv.put({ key: k("b"), value: b("x") });
    await client.kv.put({ key: k("a"), value: b("y") });
    await client.kv.put({ key: k("c"), value: b("x") });
    await client.kv.put({ key: k("a"), value: b("x") });
    const order = async (target: string, sort_order: string): Promise<string> => {
      const res = await client.kv.range({
        key: k("a"),
        range_end: k("z"),
        sort_target: target as never,
        sort_order: sort_order as never,
      });
      return res.kvs.map(k.of).join("");
    };
    t.is(await order("Key", "None"), "abc");
    t.is(await order("Key", "Descend"), "cba");
    t.is(await order("Version", "None"), "bca", "NONE with a non-key target sorts ascending");
    t.is(await order("Version", "Descend"), "abc");
    t.is(await order("Create", "Ascend"), "bac");
    t.is(await order("Create", "Descend"), "cab");
    t.is(await order("Mod", "Ascend"), "bca");
    t.is(await order("Mod", "Descend"), "acb");
    t.is(await order("Value", "Ascend"), "abc", "equal values stay in key order");
    t.is(await order("Value", "Descend"), "abc", "a descending sort keeps ties in key order too");
  });

  test.serial(
    "K15 keys_only empties values; count_only returns no kvs and the count",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      await client.kv.put({ key: k("a"), value: b("1") });
      await client.kv.put({ key: k("b"), value: b("2") });
      const keysOnly = await client.kv.range({ key: k("a"), range_end: k("z"), keys_only: true });
      t.deepEqual(
        keysOnly.kvs.map((kv) => [k.of(kv), kv.value.length, kv.version]),
        [
          ["a", 0, "1"],
          ["b", 0, "1"],
        ],
      );
      const countOnly = await client.kv.range({
        key: k("a"),
        range_end: k("z"),
        count_only: true,
        limit: 1,
      });
      t.deepEqual(countOnly.kvs, []);
      t.is(countOnly.count, "2");
      t.false(countOnly.more);
    },
  );

  test.serial("K16 ranges and prefixes order arbitrary bytes as unsigned bytes", async (t) => {
    const client = backend().client();
    const p = Buffer.from(prefixOf(t));
    const keys = [
      Buffer.from([0x00]),
      Buffer.from([0x7f]),
      Buffer.from([0x80]),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from([0xff]),
      Buffer.from([0xff, 0xff]),
      Buffer.from([0xf0, 0x9f, 0x98, 0x80]),
    ];
    for (const key of keys) await client.kv.put({ key: Buffer.concat([p, key]), value: key });
    const all = await client.kv.range({
      key: p,
      range_end: Buffer.concat([p.subarray(0, -1), Buffer.from([p.at(-1)! + 1])]),
    });
    t.deepEqual(
      all.kvs.map((kv) => kv.value.toString("hex")),
      ["00", "7f", "80", "c3a9", "f09f9880", "ff", "ffff"],
    );
    const ffPrefix = await client
      .getAll()
      .prefix(Buffer.concat([p, Buffer.from([0xff])]))
      .keys();
    t.is(ffPrefix.length, 2, "a prefix ending in 0xff");
    const atLeast = await client.kv.range({
      key: Buffer.concat([p, Buffer.from([0xf0])]),
      range_end: Buffer.from([0]),
    });
    t.deepEqual(
      atLeast.kvs
        .filter((kv) => kv.key.subarray(0, p.length).equals(p))
        .map((kv) => kv.value.toString("hex")),
      ["f09f9880", "ff", "ffff"],
      "range_end \\0 means every key from key on",
    );
    const inverted = await client.kv.range({
      key: Buffer.concat([p, Buffer.from([0x80])]),
      range_end: Buffer.concat([p, Buffer.from([0x7f])]),
    });
    t.is(inverted.count, "0", "an inverted range is empty, not an error");
  });

  test.serial(
    "K19 a put with an unknown lease fails with EtcdLeaseInvalidError and changes nothing",
    async (t) => {
      const client = backend().client();
      const key = b(`${prefixOf(t)}k`);
      const before = await revisionOf(client);
      const error = await t.throwsAsync(client.kv.put({ key, value: b("v"), lease: "12345" }), {
        instanceOf: EtcdLeaseInvalidError,
      });
      t.is(
        error?.message,
        "Lease 5 NOT_FOUND: etcdserver: requested lease not found is expired or revoked",
      );
      await t.throwsAsync(client.kv.txn({ success: [{ request_put: { key, lease: "12345" } }] }), {
        instanceOf: EtcdLeaseInvalidError,
      });
      t.is(await revisionOf(client), before);
    },
  );

  test.serial(
    "K20 ignore_value needs an existing key and no value; ignore_lease no lease",
    async (t) => {
      const client = backend().client();
      const key = b(`${prefixOf(t)}k`);
      const missing = await t.throwsAsync(client.kv.put({ key, ignore_value: true }), {
        instanceOf: GRPCInvalidArgumentError,
      });
      t.is(missing?.message, "3 INVALID_ARGUMENT: etcdserver: key not found");
      const valued = await t.throwsAsync(
        client.kv.put({ key, value: b("v"), ignore_value: true }),
        {
          instanceOf: GRPCInvalidArgumentError,
        },
      );
      t.is(valued?.message, "3 INVALID_ARGUMENT: etcdserver: value is provided");
      const leased = await t.throwsAsync(client.kv.put({ key, lease: "1", ignore_lease: true }), {
        instanceOf: GRPCInvalidArgumentError,
      });
      t.is(leased?.message, "3 INVALID_ARGUMENT: etcdserver: lease is provided");
      await client.kv.put({ key, value: b("kept") });
      const kept = await client.kv.put({ key, ignore_value: true, prev_kv: true });
      t.deepEqual(kept.prev_kv?.value, b("kept"));
      const [kv] = (await client.kv.range({ key })).kvs;
      t.deepEqual(kv?.value, b("kept"));
      t.is(kv?.version, "2");
    },
  );

  test.serial(
    "K21 a put without lease detaches the key: revoking the lease leaves it",
    async (t) => {
      const client = backend().client();
      const key = b(`${prefixOf(t)}k`);
      const grant = await client.leaseClient.leaseGrant({ TTL: 30 });
      await client.kv.put({ key, value: b("leased"), lease: grant.ID });
      const ttl = await client.leaseClient.leaseTimeToLive({ ID: grant.ID, keys: true });
      t.deepEqual(ttl.keys, [key]);
      await client.kv.put({ key, value: b("free") });
      t.deepEqual(
        (await client.leaseClient.leaseTimeToLive({ ID: grant.ID, keys: true })).keys,
        [],
      );
      const before = await revisionOf(client);
      const revoked = await client.leaseClient.leaseRevoke({ ID: grant.ID });
      t.is(
        Number(revoked.header.revision),
        before,
        "revoking a lease without keys makes no revision",
      );
      const [kv] = (await client.kv.range({ key })).kvs;
      t.deepEqual(kv?.value, b("free"));
      t.is(kv?.lease, "0");
    },
  );

  test.serial(
    "E1 bad input gets etcd's error class and message, and nothing changes",
    async (t) => {
      const client = backend().client();
      const before = await revisionOf(client);
      const cases: [string, Promise<unknown>][] = [
        [
          "3 INVALID_ARGUMENT: etcdserver: key is not provided",
          client.kv.put({ key: b(""), value: b("v") }),
        ],
        ["3 INVALID_ARGUMENT: etcdserver: key is not provided", client.kv.range({ key: b("") })],
        [
          "3 INVALID_ARGUMENT: etcdserver: key is not provided",
          client.kv.deleteRange({ key: b("") }),
        ],
        [
          "3 INVALID_ARGUMENT: etcdserver: key is not provided",
          client.kv.txn({ compare: [{ key: b("") }] }),
        ],
        ["3 INVALID_ARGUMENT: etcdserver: key not found", client.kv.txn({ success: [{}] })],
        [
          "3 INVALID_ARGUMENT: etcdserver: request is too large",
          client.kv.put({ key: b(`${prefixOf(t)}big`), value: Buffer.alloc(1.5 * 1024 * 1024) }),
        ],
      ];
      for (const [message, call] of cases) {
        const error = await t.throwsAsync(call, { instanceOf: GRPCInvalidArgumentError });
        t.is(error?.message, message);
      }
      t.is(await revisionOf(client), before);
    },
  );

  test.serial(
    "K16b an explicitly empty range_end reads to the end for Range, DeleteRange and Compare; a watch takes it as one key",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      for (const name of ["a", "b", "c"]) await client.kv.put({ key: k(name), value: b(name) });
      const empty = Buffer.alloc(0);
      const fromB = await client.kv.range({ key: k("b"), range_end: empty });
      t.deepEqual(fromB.kvs.filter((kv) => k.of(kv).length === 1).map(k.of), ["b", "c"]);
      const compare = await client.kv.txn({
        compare: [
          { key: k("b"), range_end: empty, target: "Value", result: "Equal", value: b("b") },
        ],
      });
      t.false(compare.succeeded, "c, after b, has another value: the compare covered it");
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k("b"), range_end: empty } });
      await watch.next();
      const deleted = await client.kv.deleteRange({ key: k("c"), range_end: empty, prev_kv: true });
      t.deepEqual(deleted.prev_kvs.filter((kv) => k.of(kv).length === 1).map(k.of), ["c"]);
      const put = await client.kv.put({ key: k("b"), value: b("again") });
      const response = await watch.next();
      t.is(
        response.header.revision,
        put.header.revision,
        "the delete of c was not seen by the watch of b",
      );
      const dup = await client.kv.txn({
        success: [
          { request_put: { key: k("d") } },
          { request_delete_range: { key: k("a"), range_end: empty } },
        ],
      });
      t.true(dup.succeeded, "the duplicate-key check takes an empty range_end as one key");
    },
  );
});
