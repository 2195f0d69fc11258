/**
 * Transactions on both backends (research test list K5, K8–K12): one revision per
 * transaction, etcd's validation (duplicate keys, operation limits) and its compare and
 * path rules.
 */

import test, { type ExecutionContext } from "ava";
import {
  type Etcd3,
  GRPCInvalidArgumentError,
  type ICompare,
  type IRequestOp,
  type IWatchResponse,
} from "etcd3";
import { withBackends } from "../harness/backends.js";
import { keysOf, revisionOf } from "./test-keys.js";

withBackends(test, (test, backend) => {
  const b = (text: string): Buffer => Buffer.from(text, "latin1");

  /** The first watch response under `prefix` after `trigger` runs. */
  async function firstResponse(
    client: Etcd3,
    prefix: Buffer,
    trigger: () => Promise<unknown>,
  ): Promise<IWatchResponse> {
    const watcher = await client.watch().prefix(prefix).create();
    const data = new Promise<IWatchResponse>((resolve) => watcher.once("data", resolve));
    await trigger();
    const response = await data;
    await watcher.cancel();
    return response;
  }

  test.serial(
    "K5 a txn of put, put, delete is one revision and one watch response in op order",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      await client.kv.put({ key: k("c"), value: b("old") });
      const before = await revisionOf(client);
      let header = "";
      const response = await firstResponse(client, k(""), async () => {
        const res = await client.kv.txn({
          success: [
            { request_put: { key: k("b"), value: b("1") } },
            { request_put: { key: k("a"), value: b("2") } },
            { request_delete_range: { key: k("c") } },
          ],
        });
        header = res.header.revision;
      });
      t.is(header, String(before + 1));
      t.is(response.header.revision, header, "a live response carries its event's revision");
      t.deepEqual(
        response.events.map((event) => [event.type, k.of(event.kv), event.kv.mod_revision]),
        [
          ["Put", "b", header],
          ["Put", "a", header],
          ["Delete", "c", header],
        ],
      );
      const deletion = response.events[2]?.kv;
      t.deepEqual(
        [deletion?.create_revision, deletion?.version, deletion?.value.length, deletion?.lease],
        ["0", "0", 0, "0"],
        "a DELETE event carries only key and mod_revision",
      );
    },
  );

  /** The rows of etcd's TestV3TxnDuplicateKeys, keys under the test's prefix. */
  function duplicateRows(k: (name: string) => Buffer): [string, IRequestOp[], boolean][] {
    const put: IRequestOp = { request_put: { key: k("abc"), value: b("def") } };
    const delKey: IRequestOp = { request_delete_range: { key: k("abc") } };
    const delInRange: IRequestOp = { request_delete_range: { key: k("a"), range_end: k("b") } };
    const delOutOfRange: IRequestOp = {
      request_delete_range: { key: k("abb"), range_end: k("abc") },
    };
    const nested = (success: IRequestOp[], failure: IRequestOp[] = []): IRequestOp => ({
      request_txn: { success, failure },
    });
    const putTwoSide = nested([put], [put]);
    return [
      ["put, put", [put, put], false],
      ["put, delete key", [put, delKey], false],
      ["put, delete range", [put, delInRange], false],
      ["put, txn(delete)", [put, nested([delKey])], false],
      ["delete, txn(put)", [delKey, nested([put])], false],
      ["two txn(put | put)", [putTwoSide, putTwoSide], false],
      ["delete elsewhere, txn(put | put)", [delOutOfRange, putTwoSide], true],
      ["txn(delete), txn(delete range)", [nested([delKey]), nested([delInRange])], true],
      ["delete, delete", [delKey, delKey], true],
      ["deletes overlapping", [delKey, delInRange, delKey, delInRange], true],
      ["put, delete elsewhere", [put, delOutOfRange], true],
      [
        "put, delete from the key with range_end \\0 (etcd's quirk)",
        [put, { request_delete_range: { key: k("abc"), range_end: Buffer.from([0]) } }],
        true,
      ],
    ];
  }

  test.serial(
    "K8 duplicate keys in a txn: etcd's accept/reject table, a rejection changes nothing",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      for (const [name, success, accepted] of duplicateRows(k)) {
        const before = await revisionOf(client);
        if (accepted) {
          await t.notThrowsAsync(client.kv.txn({ success }), name);
          continue;
        }
        const error = await t.throwsAsync(
          client.kv.txn({ success }),
          { instanceOf: GRPCInvalidArgumentError },
          name,
        );
        t.is(
          error?.message,
          "3 INVALID_ARGUMENT: etcdserver: duplicate key given in txn request",
          name,
        );
        t.is(await revisionOf(client), before, `${name}: no revision`);
      }
    },
  );

  test.serial(
    "K9 at most 128 operations per list, nested txns get what the outer level leaves",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const puts = (count: number, tag: string): IRequestOp[] =>
        Array.from({ length: count }, (_, i) => ({ request_put: { key: k(`${tag}${i}`) } }));
      const tooMany = "3 INVALID_ARGUMENT: etcdserver: too many operations in txn request";
      const before = await revisionOf(client);
      const error = await t.throwsAsync(client.kv.txn({ success: puts(129, "a") }), {
        instanceOf: GRPCInvalidArgumentError,
      });
      t.is(error?.message, tooMany);
      const nested = await t.throwsAsync(
        client.kv.txn({
          success: [...puts(100, "b"), { request_txn: { success: puts(29, "c") } }],
        }),
        { instanceOf: GRPCInvalidArgumentError },
      );
      t.is(nested?.message, tooMany, "101 outer ops leave 27 for the nested txn");
      t.is(await revisionOf(client), before);
      const ok = await client.kv.txn({ success: puts(128, "d"), failure: puts(128, "e") });
      t.is(Number(ok.header.revision), before + 1, "128 puts are one revision");
      const okNested = await client.kv.txn({
        success: [...puts(100, "f"), { request_txn: { success: puts(27, "g") } }],
      });
      t.is(Number(okNested.header.revision), before + 2);
    },
  );

  test.serial(
    "K10 nested txns: compares on one snapshot, one revision, nested header revision 0",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      await client.kv.put({ key: k("x"), value: b("0") });
      const before = await revisionOf(client);
      const res = await client.kv.txn({
        compare: [{ key: k("x"), target: "Value", result: "Equal", value: b("0") }],
        success: [
          { request_put: { key: k("x"), value: b("1") } },
          {
            request_txn: {
              compare: [{ key: k("x"), target: "Value", result: "Equal", value: b("1") }],
              success: [{ request_put: { key: k("then"), value: b("t") } }],
              failure: [
                { request_put: { key: k("else"), value: b("e") } },
                { request_range: { key: k("x") } },
              ],
            },
          },
        ],
      });
      t.true(res.succeeded);
      t.is(Number(res.header.revision), before + 1);
      const inner = res.responses[1]?.response_txn;
      t.false(inner?.succeeded, "the nested compare saw x before the outer put");
      t.is(inner?.header.revision, "0");
      t.is(inner?.responses[0]?.response_put?.header.revision, String(before + 1));
      t.deepEqual(
        inner?.responses[1]?.response_range?.kvs[0]?.value,
        b("1"),
        "its range sees the outer put",
      );
      const names = (await client.kv.range({ key: k(""), range_end: k("\x7f") })).kvs.map(k.of);
      t.deepEqual(names, ["else", "x"]);
    },
  );

  async function compares(
    _t: ExecutionContext,
    client: Etcd3,
    compare: ICompare[],
  ): Promise<boolean> {
    const res = await client.kv.txn({ compare });
    return res.succeeded;
  }

  test.serial(
    "K11 compares on a missing key see zeros, except Value which is always false",
    async (t) => {
      const client = backend().client();
      const key = keysOf(t)("missing");
      t.true(
        await compares(t, client, [{ key, target: "Create", result: "Equal", create_revision: 0 }]),
      );
      t.true(await compares(t, client, [{ key, target: "Mod", result: "Less", mod_revision: 5 }]));
      t.true(await compares(t, client, [{ key, target: "Version", result: "Equal", version: 0 }]));
      t.true(await compares(t, client, [{ key, target: "Lease", result: "Equal", lease: 0 }]));
      t.false(
        await compares(t, client, [{ key, target: "Value", result: "NotEqual", value: b("x") }]),
      );
      t.false(await compares(t, client, [{ key, target: "Value", result: "Equal", value: b("") }]));
    },
  );

  test.serial(
    "K12 a compare over a range needs every key to match; an empty range compares zeros",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      await client.kv.put({ key: k("a"), value: b("1") });
      await client.kv.put({ key: k("b"), value: b("1") });
      const range = { key: k("a"), range_end: k("c") };
      t.true(
        await compares(t, client, [{ ...range, target: "Value", result: "Equal", value: b("1") }]),
      );
      await client.kv.put({ key: k("b"), value: b("2") });
      t.false(
        await compares(t, client, [{ ...range, target: "Value", result: "Equal", value: b("1") }]),
        "one key differs",
      );
      t.true(
        await compares(t, client, [{ ...range, target: "Version", result: "Greater", version: 0 }]),
      );
      const empty = { key: k("x"), range_end: k("y") };
      t.true(
        await compares(t, client, [{ ...empty, target: "Version", result: "Equal", version: 0 }]),
      );
      t.false(
        await compares(t, client, [{ ...empty, target: "Value", result: "Equal", value: b("") }]),
      );
    },
  );
});
