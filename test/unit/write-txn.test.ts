/** The request of one write and the reading of its answer (`write-txn.ts`). */

import test from "ava";
import type { IKeyValue, ITxnResponse } from "etcd3";
import { buildWrite, readWrite, type WritePlan } from "../../src/etcd/write-txn.js";

const key = Buffer.from("/ns/k");
const lock = Buffer.from("/ns/lock");
const put = { type: "put", value: Buffer.from("v"), lease: undefined } as const;
const header = { cluster_id: "1", member_id: "1", revision: "20", raft_term: "2" };

function kv(k: Buffer, mod: number, create: number): IKeyValue {
  return {
    key: k,
    value: Buffer.from("now"),
    mod_revision: String(mod),
    create_revision: String(create),
    version: "1",
    lease: "0",
  };
}

function failed(...ranges: IKeyValue[][]): ITxnResponse {
  return {
    header,
    succeeded: false,
    responses: ranges.map((kvs) => ({
      response_range: { header, kvs, more: false, count: String(kvs.length) },
    })) as ITxnResponse["responses"],
  };
}

test("buildWrite: an unconditional put or delete is a plain put or deleteRange", (t) => {
  const plain: WritePlan = { key, op: put, ifRevision: undefined, guards: [] };
  t.deepEqual(buildWrite(plain), { method: "put", request: { key, value: put.value } });
  t.deepEqual(buildWrite({ ...plain, op: { type: "delete" } }), {
    method: "deleteRange",
    request: { key },
  });
  t.deepEqual(buildWrite({ ...plain, op: { ...put, lease: "7587" } }), {
    method: "put",
    request: { key, value: put.value, lease: "7587" },
  });
});

test("buildWrite: ifRevision and guards become compares, and the failure branch reads their keys", (t) => {
  const call = buildWrite({
    key,
    op: put,
    ifRevision: 0,
    guards: [{ key: lock, createRevision: 9 }],
  });
  t.deepEqual(call, {
    method: "txn",
    request: {
      compare: [
        { key, target: "Mod", result: "Equal", mod_revision: "0" },
        { key: lock, target: "Create", result: "Equal", create_revision: "9" },
      ],
      success: [{ request_put: { key, value: put.value } }],
      failure: [{ request_range: { key } }, { request_range: { key: lock, keys_only: true } }],
    },
  });
});

test("buildWrite: op none checks the conditions and writes nothing", (t) => {
  const call = buildWrite({ key, op: { type: "none" }, ifRevision: 4, guards: [] });
  t.is(call.method, "txn");
  t.deepEqual(call.method === "txn" ? call.request.success : undefined, []);
});

test("readWrite: a success is the header's revision", (t) => {
  const plan: WritePlan = { key, op: put, ifRevision: 3, guards: [] };
  t.deepEqual(readWrite(plan, { header, succeeded: true, responses: [] }), {
    ok: true,
    revision: 20,
  });
  t.deepEqual(readWrite({ ...plan, ifRevision: undefined }, { header }), {
    ok: true,
    revision: 20,
  });
});

test("readWrite: a refused ifRevision reports the key now (0 when absent)", (t) => {
  const plan: WritePlan = { key, op: put, ifRevision: 3, guards: [] };
  const now = readWrite(plan, failed([kv(key, 17, 2)]));
  t.like(now, { ok: false, reason: "revision", revision: 17, at: 20 });
  t.deepEqual(readWrite(plan, failed([])), {
    ok: false,
    reason: "revision",
    revision: 0,
    kv: undefined,
    at: 20,
  });
});

test("readWrite: a guard whose key is gone or re-created is reason guard, even when the revision also failed", (t) => {
  const plan: WritePlan = {
    key,
    op: put,
    ifRevision: 3,
    guards: [{ key: lock, createRevision: 9 }],
  };
  t.deepEqual(readWrite(plan, failed([kv(key, 17, 2)], [])), { ok: false, reason: "guard" });
  t.deepEqual(readWrite(plan, failed([kv(key, 17, 2)], [kv(lock, 12, 12)])), {
    ok: false,
    reason: "guard",
  });
  t.like(readWrite(plan, failed([kv(key, 17, 2)], [kv(lock, 12, 9)])), {
    reason: "revision",
    revision: 17,
  });
  const guardOnly = { ...plan, ifRevision: undefined };
  t.deepEqual(readWrite(guardOnly, failed([])), { ok: false, reason: "guard" });
});
