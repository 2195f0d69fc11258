/**
 * Writes (`EtcdValue.set` and `update`) on real etcd and on the in-memory twin, from one
 * definition: what each option does, the compare-and-set loop under contention, codecs,
 * the permanent failures a user can cause (a revoked lease, a value over etcd's size
 * limit), and a write left without an answer (store frozen): ambiguous, at most once.
 */

import test, { type ExecutionContext } from "ava";
import type { Etcd3 } from "etcd3";
import { EtcdLeaseInvalidError } from "etcd3";
import { z } from "zod";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  AmbiguousWriteError,
  codecs,
  decoders,
  EncodeError,
  EtcdLease,
  EtcdValue,
  WriteFailedError,
  type WriteResult,
} from "../../src/index.js";
import { withBackends } from "../harness/backends.js";
import { deadline } from "../helpers/faults.js";
import { watcher } from "../helpers/watcher.js";

/** Updaters and increments of the contention test; `EVENT_VALUE_BIG=1`: 16 × 1000. */
const BIG = process.env.EVENT_VALUE_BIG === "1";
const UPDATERS = BIG ? 16 : 8;
const INCREMENTS = BIG ? 1000 : 250;

withBackends(
  test,
  (test, backend) => {
    /** A new client of the store, closed with the store. */
    const client = (): Etcd3 => backend().client();
    let shared: Etcd3 | undefined;
    const etcd = (): Etcd3 => {
      shared ??= client();
      return shared;
    };

    let unique = 0;
    const key = (name: string): string => `/writes/${name}/${++unique}`;

    /** The key as stored: its value (text) and version, or undefined when absent. */
    async function stored(
      name: string,
    ): Promise<{ value: string; version: number; mod: number } | undefined> {
      const response = await etcd().get(name).exec();
      const kv = response.kvs[0];
      if (kv === undefined) return undefined;
      return {
        value: kv.value.toString(),
        version: Number(kv.version),
        mod: Number(kv.mod_revision),
      };
    }

    function okRevision<T>(t: ExecutionContext, result: WriteResult<T>): number {
      if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result)}`);
      t.pass();
      return result.revision;
    }

    test.serial(
      "at most once: a write left without an answer (store frozen) rejects with AmbiguousWriteError and is applied at most once",
      async (t) => {
        const name = key("frozen");
        const options = withInternal({ codec: codecs.text }, { tuning: { writeTimeoutMs: 500 } });
        const value = new EtcdValue(client(), name, options);
        t.true((await value.set("before")).ok);
        await backend().freeze();
        t.teardown(() => backend().thaw());
        const error = await t.throwsAsync(value.set("during"), { instanceOf: AmbiguousWriteError });
        t.is(error?.key, name);
        await backend().thaw();
        t.true((await value.set("after")).ok, "the store answers again");
        const version = (await stored(name))?.version ?? 0;
        t.true(version === 2 || version === 3, `applied at most once (version ${version})`);
        if (backend().name === "memory") {
          // The twin holds the request and commits it at the thaw; a real member may see
          // gRPC's cancellation first.
          t.is(version, 3, "the ambiguous write landed later, once");
        }
      },
    );

    test("set: puts the value and resolves with the write's revision", async (t) => {
      const name = key("put");
      const value = new EtcdValue(etcd(), name, { codec: codecs.text });
      const revision = okRevision(t, await value.set("one"));
      const now = await stored(name);
      t.deepEqual(
        now,
        { value: "one", version: 1, mod: revision },
        "stored at the returned revision",
      );
    });

    test("set on a Namespace: writes and guards are relative to the namespace prefix", async (t) => {
      const prefix = key("ns");
      const ns = etcd().namespace(`${prefix}/`);
      const lock = await ns.put("lock").value("held").exec();
      const guard = { key: "lock", createRevision: Number(lock.header.revision) };
      const value = new EtcdValue(ns, "k", { codec: codecs.text });
      okRevision(t, await value.set("inside", { guard }));
      t.is((await stored(`${prefix}/k`))?.value, "inside", "stored under the prefix");
      t.deepEqual(await value.update((v) => `${v}!`).then((r) => r.ok), true);
      t.is((await stored(`${prefix}/k`))?.value, "inside!");
    });

    test("set: watchers of the same value and of another value of the key see the write", async (t) => {
      const name = key("seen");
      const value = new EtcdValue(etcd(), name, { codec: codecs.text });
      const other = new EtcdValue(client(), name, { decoder: decoders.text });
      const mine = watcher(t, value);
      const theirs = watcher(t, other);
      t.is(await mine.get(), undefined);
      t.is(await theirs.get(), undefined);
      const signal = deadline(10_000, "the write at the watchers");
      const revision = okRevision(t, await value.set("hello"));
      t.is(await mine.get({ signal }), "hello", "the writer's own watcher sees it like any change");
      t.is(mine.revision, revision);
      t.is(await theirs.get({ signal }), "hello", "another value's watcher sees it");
      t.is(theirs.revision, revision);
    });

    test("set: undefined deletes the key and resolves with the delete's revision", async (t) => {
      const name = key("delete");
      const value = new EtcdValue(etcd(), name, { codec: codecs.text });
      okRevision(t, await value.set("there"));
      const w = watcher(t, value);
      t.is(await w.get(), "there");
      const revision = okRevision(t, await value.set(undefined));
      t.is(await stored(name), undefined, "the key is gone");
      t.is(await w.get({ signal: deadline(10_000, "the delete") }), undefined);
      t.is(w.revision, revision, "the watcher sees the delete at the returned revision");
    });

    test("set: deleting an absent key changes nothing and resolves with the current revision", async (t) => {
      const name = key("delete-absent");
      const before = Number((await etcd().get("/writes/none").exec()).header.revision);
      const revision = okRevision(t, await new EtcdValue(etcd(), name).set(undefined));
      t.true(revision >= before, "the store's revision at the time");
      t.is(await stored(name), undefined);
    });

    test("set ifRevision: applies when the key's mod revision matches", async (t) => {
      const name = key("if-match");
      const value = new EtcdValue(etcd(), name, { codec: codecs.text });
      const first = okRevision(t, await value.set("a"));
      const second = okRevision(t, await value.set("b", { ifRevision: first }));
      t.true(second > first);
      t.is((await stored(name))?.value, "b");
    });

    test("set ifRevision: refuses a stale revision, with the key's current revision and value", async (t) => {
      const name = key("if-stale");
      const value = new EtcdValue(etcd(), name, { codec: codecs.json<{ n: number }>() });
      const first = okRevision(t, await value.set({ n: 1 }));
      const second = okRevision(t, await value.set({ n: 2 }));
      const result = await value.set({ n: 3 }, { ifRevision: first });
      t.deepEqual(result, { ok: false, reason: "revision", revision: second, value: { n: 2 } });
      t.is((await stored(name))?.value, '{"n":2}', "nothing written");
    });

    test("set ifRevision 0: creates the key only when it is absent", async (t) => {
      const name = key("create");
      const value = new EtcdValue(etcd(), name, { codec: codecs.text });
      const created = okRevision(t, await value.set("first", { ifRevision: 0 }));
      const again = await value.set("second", { ifRevision: 0 });
      t.deepEqual(again, { ok: false, reason: "revision", revision: created, value: "first" });
      okRevision(t, await value.set(undefined));
      const recreated = await value.set("third", { ifRevision: 0 });
      t.true(recreated.ok, "absent again: created");
    });

    test("set ifRevision: refused on an absent key reports revision 0 and undefined", async (t) => {
      const value = new EtcdValue(etcd(), key("if-absent"), { codec: codecs.text });
      t.deepEqual(await value.set("x", { ifRevision: 5 }), {
        ok: false,
        reason: "revision",
        revision: 0,
        value: undefined,
      });
    });

    test("set lease: the key is attached to the lease and goes when the lease is revoked", async (t) => {
      const name = key("lease");
      const lease = await EtcdLease.grant(etcd(), { ttl: 30 });
      t.teardown(() => lease.revoke());
      const value = new EtcdValue(etcd(), name, { codec: codecs.text });
      const w = watcher(t, value);
      t.is(await w.get(), undefined);
      okRevision(t, await value.set("leased", { lease }));
      t.is(await w.get({ signal: deadline(10_000, "the put") }), "leased");
      const kv = (await etcd().get(name).exec()).kvs[0];
      t.is(kv?.lease, lease.id, "stored under the lease");
      await lease.revoke();
      t.is(
        await w.get({ signal: deadline(10_000, "the revoke") }),
        undefined,
        "revoking deletes it",
      );
    });

    test("set lease: a revoked lease rejects with WriteFailedError (cause: etcd's lease error)", async (t) => {
      const name = key("revoked");
      const lease = await EtcdLease.grant(etcd(), { ttl: 30 });
      await lease.revoke();
      const retried: unknown[] = [];
      const value = new EtcdValue(etcd(), name, {
        codec: codecs.text,
        backoff: { retry: (error) => retried.push(error) > 0 },
      });
      const error = await t.throwsAsync(value.set("x", { lease }), {
        instanceOf: WriteFailedError,
      });
      t.true(error?.cause instanceof EtcdLeaseInvalidError, String(error?.cause));
      t.deepEqual(retried, [], "not retried");
      t.is(await stored(name), undefined, "nothing written");
    });

    test("set guard: applies while the guard's key exists with that create revision", async (t) => {
      const lockKey = key("guard-lock");
      const created = Number((await etcd().put(lockKey).value("held").exec()).header.revision);
      const value = new EtcdValue(etcd(), key("guarded"), { codec: codecs.text });
      okRevision(t, await value.set("1", { guard: { key: lockKey, createRevision: created } }));
      await etcd().put(lockKey).value("still held, modified");
      okRevision(
        t,
        await value.set("2", { guard: [{ key: lockKey, createRevision: created }] }),
        // a modification keeps the create revision
      );
    });

    test("set guard: refused with reason guard once the guard's key is gone or re-created", async (t) => {
      const lockKey = key("guard-gone");
      const created = Number((await etcd().put(lockKey).value("held").exec()).header.revision);
      const name = key("guarded-gone");
      const value = new EtcdValue(etcd(), name, { codec: codecs.text });
      const guard = { key: lockKey, createRevision: created };
      await etcd().delete().key(lockKey);
      t.deepEqual(await value.set("x", { guard }), { ok: false, reason: "guard" }, "gone");
      await etcd().put(lockKey).value("someone else");
      t.deepEqual(await value.set("x", { guard }), { ok: false, reason: "guard" }, "re-created");
      t.deepEqual(
        await value.set("x", { guard, ifRevision: 0 }),
        { ok: false, reason: "guard" },
        "a failed guard wins over a matching revision",
      );
      t.is(await stored(name), undefined, "nothing written");
    });

    test(`update: ${UPDATERS} updaters on separate clients incrementing one JSON counter ${INCREMENTS} times each end at exactly ${UPDATERS * INCREMENTS}`, async (t) => {
      const name = key("counter");
      const values = Array.from(
        { length: UPDATERS },
        () => new EtcdValue(client(), name, { codec: codecs.json<number>() }),
      );
      await Promise.all(
        values.map(async (value) => {
          for (let i = 0; i < INCREMENTS; i++) {
            const result = await value.update((n) => (n ?? 0) + 1);
            if (!result.ok) throw new Error(`increment refused: ${JSON.stringify(result)}`);
          }
        }),
      );
      t.is((await stored(name))?.value, String(UPDATERS * INCREMENTS));
      t.is((await stored(name))?.version, UPDATERS * INCREMENTS, "one write per increment");
    });

    test("update: after a conflict, fn is called again with the newer value", async (t) => {
      const name = key("conflict");
      await etcd().put(name).value("1");
      let release = (): void => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      t.teardown(() => release());
      // The watch is held back after its read: the value keeps 1 while the key moves on.
      const options = withInternal(
        { codec: codecs.json<number>() },
        { hooks: { afterRead: () => held } },
      );
      const value = new EtcdValue(etcd(), name, options);
      t.is(await watcher(t, value).get(), 1);
      await etcd().put(name).value("10");
      const seen: (number | undefined)[] = [];
      const result = await value.update((n) => {
        seen.push(n);
        return (n ?? 0) + 1;
      });
      t.deepEqual(seen, [1, 10], "first the value held, then the newer one the conflict returned");
      t.true(result.ok);
      t.is((await stored(name))?.value, "11");
      t.is((await stored(name))?.version, 3, "the stale attempt wrote nothing");
    });

    test("update guard: applies while the guard holds, then resolves reason guard without writing, also when fn returns current", async (t) => {
      const lockKey = key("update-lock");
      const created = Number((await etcd().put(lockKey).value("held").exec()).header.revision);
      const guard = { key: lockKey, createRevision: created };
      const name = key("update-guarded");
      const value = new EtcdValue(etcd(), name, { codec: codecs.json<number>() });
      okRevision(t, await value.update((n) => (n ?? 0) + 1, { guard }));
      await etcd().delete().key(lockKey);
      t.deepEqual(await value.update((n) => (n ?? 0) + 1, { guard }), {
        ok: false,
        reason: "guard",
      });
      t.deepEqual(await value.update((n) => n, { guard }), { ok: false, reason: "guard" });
      t.is((await stored(name))?.value, "1", "only the guarded write while held");
    });

    test("update: an aborted signal rejects with its reason and calls fn no more", async (t) => {
      const name = key("update-abort");
      const value = new EtcdValue(etcd(), name, { codec: codecs.json<number>() });
      const controller = new AbortController();
      const reason = new Error("stop");
      controller.abort(reason);
      let calls = 0;
      const error = await t.throwsAsync(
        value.update(
          (n) => {
            calls += 1;
            return (n ?? 0) + 1;
          },
          { signal: controller.signal },
        ),
      );
      t.is(error, reason);
      t.is(calls, 0);
      t.is(await stored(name), undefined, "nothing written");
    });

    test("update: returning current writes nothing and resolves with the key's mod revision", async (t) => {
      const name = key("same");
      const value = new EtcdValue(etcd(), name, { codec: codecs.json<{ a: number }>() });
      const revision = okRevision(t, await value.set({ a: 1 }));
      t.deepEqual(await value.update((current) => current), { ok: true, revision });
      t.is((await stored(name))?.version, 1, "not written again");
      const absent = new EtcdValue(etcd(), key("same-absent"), { codec: codecs.text });
      t.deepEqual(await absent.update((current) => current), { ok: true, revision: 0 });
    });

    test("update: returning undefined deletes the key", async (t) => {
      const name = key("update-delete");
      const value = new EtcdValue(etcd(), name, { codec: codecs.text });
      okRevision(t, await value.set("x"));
      okRevision(t, await value.update(() => undefined));
      t.is(await stored(name), undefined);
    });

    test("update: a throw from fn rejects update with it and writes nothing", async (t) => {
      const name = key("update-throw");
      const value = new EtcdValue(etcd(), name, { codec: codecs.text });
      okRevision(t, await value.set("x"));
      const boom = new Error("no");
      const error = await t.throwsAsync(
        value.update(() => {
          throw boom;
        }),
      );
      t.is(error, boom);
      t.is((await stored(name))?.version, 1);
    });

    test("update: fn first sees the value a watcher of this EtcdValue has returned, not an older one", async (t) => {
      const name = key("watched");
      const value = new EtcdValue(etcd(), name, { codec: codecs.json<{ n: number }>() });
      const w = watcher(t, value);
      t.is(await w.get(), undefined);
      await etcd().put(name).value('{"n":7}');
      const seen = await w.get({ signal: deadline(10_000, "the put") });
      const args: unknown[] = [];
      okRevision(
        t,
        await value.update((current) => {
          args.push(current);
          return { n: (current?.n ?? 0) + 1 };
        }),
      );
      t.is(args[0], seen, "the very object the watcher returned");
      t.deepEqual(args, [{ n: 7 }], "current: no conflict, one call");
    });

    test("codecs: json, text, bytes and schema values round-trip through etcd", async (t) => {
      const schema = z.object({ port: z.number(), host: z.string() });
      const cases = [
        [codecs.json<unknown>(), { a: [1, "two", null], b: { c: true } }],
        [codecs.text, "héllo\n\u{1F600}"],
        [codecs.bytes, new Uint8Array([0, 255, 1, 128])],
        [codecs.schema(schema), { port: 80, host: "example.org" }],
      ] as const;
      for (const [codec, written] of cases) {
        const name = key("codec");
        const writer = new EtcdValue(etcd(), name, { codec: codec as never });
        okRevision(t, await writer.set(written as never));
        const reader = new EtcdValue(client(), name, { codec: codec as never });
        const read: unknown = await watcher(t, reader).get();
        // codecs.bytes reads a Buffer (a Uint8Array): compare the bytes.
        t.deepEqual(read instanceof Uint8Array ? new Uint8Array(read) : read, written);
      }
    });

    test("codecs.schema: an invalid value rejects with EncodeError (issues) before any request", async (t) => {
      const name = key("schema-invalid");
      // A closed client: any request would fail with WriteFailedError (ClientClosedError).
      const closed = client();
      closed.close();
      const value = new EtcdValue(closed, name, {
        codec: codecs.schema(z.object({ port: z.number() })),
      });
      const error = await t.throwsAsync(value.set({ port: "80" as unknown as number }), {
        instanceOf: EncodeError,
      });
      t.is(error?.key, name);
      t.is(error?.issues?.[0]?.path?.[0], "port", "the schema's issues");
      await t.throwsAsync(
        value.update(() => ({ port: "80" as unknown as number })),
        {
          instanceOf: WriteFailedError,
          message: /closed/,
        },
      ); // the same client does fail a request: update reads first
      t.is(await stored(name), undefined, "nothing was written");
    });

    test("set: a value with only a decoder rejects with a TypeError that says to pass codec", async (t) => {
      const value = new EtcdValue(etcd(), key("decoder-only"), { decoder: decoders.text });
      const error = await t.throwsAsync(value.set("x"), { instanceOf: TypeError });
      t.regex(error?.message ?? "", /`codec`/);
      await t.throwsAsync(
        value.update(() => "x"),
        { instanceOf: TypeError, message: /`codec`/ },
      );
    });

    test("EtcdValue: codec and decoder together are a TypeError", (t) => {
      t.throws(
        () =>
          new EtcdValue(etcd(), key("both"), {
            codec: codecs.text,
            decoder: decoders.text,
          }),
        { instanceOf: TypeError, message: /`codec` or `decoder`/ },
      );
    });

    test("set: a value over etcd's request size limit rejects with WriteFailedError, without a retry", async (t) => {
      const name = key("too-large");
      const retried: unknown[] = [];
      const value = new EtcdValue(etcd(), name, { backoff: { retry: (e) => retried.push(e) > 0 } });
      for (const size of [1.6 * 1024 * 1024, 3 * 1024 * 1024]) {
        await t.throwsAsync(value.set(new Uint8Array(size)), { instanceOf: WriteFailedError });
      }
      t.deepEqual(retried, [], "permanent: never retried");
      t.is(await stored(name), undefined);
    });
  },
  { faults: true },
);
