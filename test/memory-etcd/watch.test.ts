/**
 * Watch semantics on both backends (research test list W1, W2, W5–W9, W11 and the
 * 3.4.23 progress request): exact responses read from a raw watch stream.
 */

import test from "ava";
import type { IWatchResponse } from "etcd3";
import { withBackends } from "../harness/backends.js";
import { openRawWatch } from "./raw-watch.js";
import { keysOf, revisionOf } from "./test-keys.js";

withBackends(test, (test, backend) => {
  const b = (text: string): Buffer => Buffer.from(text, "latin1");
  const catchUpRevisions = process.env.MEMORY_ETCD_LARGE === "1" ? 2500 : 1100;

  test.serial(
    "W1 created comes first at the current revision; then one response per revision",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      const current = await revisionOf(client);
      watch.write({ create_request: { key: k(""), range_end: k("\x7f") } });
      const created = await watch.next();
      t.true(created.created);
      t.false(created.canceled);
      t.is(created.watch_id, "0", "the first watch of a stream gets id 0");
      t.is(created.header.revision, String(current));
      t.deepEqual(created.events, []);
      const put = await client.kv.put({ key: k("a"), value: b("1") });
      const first = await watch.next();
      t.is(first.header.revision, put.header.revision);
      t.is(first.events.length, 1);
      const txn = await client.kv.txn({
        success: ["x", "y", "z"].map((name) => ({ request_put: { key: k(name), value: b(name) } })),
      });
      const second = await watch.next();
      t.is(second.header.revision, txn.header.revision, "a live response's header is its revision");
      t.deepEqual(
        second.events.map(k.ofEvent),
        ["x", "y", "z"],
        "a txn's events come in one response",
      );
    },
  );

  test.serial(
    `W2 catching up over ${catchUpRevisions} revisions: every event in order, batches of at most 1000 revisions headed by the store revision`,
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const start = (await revisionOf(client)) + 1;
      for (let i = 0; i < catchUpRevisions; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, catchUpRevisions - i) }, (_, j) =>
            client.kv.put({ key: k(String(i + j).padStart(5, "0")), value: b("v") }),
          ),
        );
      }
      const current = await revisionOf(client);
      t.is(current, start + catchUpRevisions - 1);
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k(""), range_end: k("\x7f"), start_revision: start } });
      t.true((await watch.next()).created);
      const batches: IWatchResponse[] = [];
      let events = 0;
      while (events < catchUpRevisions) {
        const response = await watch.next();
        batches.push(response);
        events += response.events.length;
      }
      const revisions = batches.flatMap((batch) =>
        batch.events.map((event) => Number(event.kv.mod_revision)),
      );
      t.deepEqual(
        revisions,
        Array.from({ length: catchUpRevisions }, (_, i) => start + i),
      );
      t.is(batches[0]?.events.length, 1000, "the first batch holds 1000 revisions");
      for (const batch of batches) {
        t.true(batch.events.length <= 1000);
        t.is(
          batch.header.revision,
          String(current),
          "a catch-up batch is headed by the store revision",
        );
      }
    },
  );

  test.serial("W5 a future start revision delivers nothing below it", async (t) => {
    const client = backend().client();
    const k = keysOf(t);
    const current = await revisionOf(client);
    const watch = await openRawWatch(client);
    t.teardown(() => watch.close());
    watch.write({ create_request: { key: k("a"), start_revision: current + 3 } });
    t.is((await watch.next()).header.revision, String(current));
    for (const value of ["1", "2", "3", "4"]) await client.kv.put({ key: k("a"), value: b(value) });
    const first = await watch.next();
    t.is(first.header.revision, String(current + 3));
    t.deepEqual(first.events[0]?.kv.value, b("3"));
    t.deepEqual((await watch.next()).events[0]?.kv.value, b("4"));
  });

  test.serial("W6 filters drop events; a response left empty is not sent", async (t) => {
    const client = backend().client();
    const k = keysOf(t);
    const watch = await openRawWatch(client);
    t.teardown(() => watch.close());
    watch.write({ create_request: { key: k("a"), filters: ["Nodelete" as never] } });
    await watch.next();
    watch.write({ create_request: { key: k("a"), filters: ["Noput" as never] } });
    await watch.next();
    await client.kv.put({ key: k("a"), value: b("1") });
    await client.kv.deleteRange({ key: k("a") });
    await client.kv.put({ key: k("a"), value: b("2") });
    const seen = [await watch.next(), await watch.next(), await watch.next()].map(
      (response) => `${response.watch_id}:${response.events.map((event) => event.type).join()}`,
    );
    t.deepEqual(seen, ["0:Put", "1:Delete", "0:Put"]);
  });

  test.serial(
    "W7 prev_kv: present on update and delete (also by revoke), absent on create",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k("a"), prev_kv: true } });
      await watch.next();
      const grant = await client.leaseClient.leaseGrant({ TTL: 30 });
      await client.kv.put({ key: k("a"), value: b("1") });
      await client.kv.put({ key: k("a"), value: b("2"), lease: grant.ID });
      await client.kv.deleteRange({ key: k("a") });
      await client.kv.put({ key: k("a"), value: b("3"), lease: grant.ID });
      await client.leaseClient.leaseRevoke({ ID: grant.ID });
      const events = [];
      for (let i = 0; i < 5; i++) events.push(...(await watch.next()).events);
      t.deepEqual(
        events.map((event) => [
          event.type,
          event.prev_kv?.value.toString() ?? null,
          event.prev_kv?.lease ?? null,
        ]),
        [
          ["Put", null, null],
          ["Put", "1", "0"],
          ["Delete", "2", grant.ID],
          ["Put", null, null],
          ["Delete", "3", grant.ID],
        ],
      );
    },
  );

  test.serial(
    "W8 an empty or inverted watch range is created and cancelled with watch_id -1",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k("b"), range_end: k("a") } });
      const response = await watch.next();
      t.like(response, {
        created: true,
        canceled: true,
        watch_id: "-1",
        cancel_reason: "mvcc: watcher range is empty",
      });
      watch.write({ create_request: { key: k("a"), watch_id: 7 } });
      t.like(await watch.next(), { created: true, canceled: false, watch_id: "7" });
      watch.write({ create_request: { key: k("b"), watch_id: 7 } });
      t.like(await watch.next(), {
        created: true,
        canceled: true,
        watch_id: "-1",
        cancel_reason: "mvcc: duplicate watch ID provided on the WatchStream",
      });
    },
  );

  test.serial(
    "W9 a cancel is acknowledged and stops delivery; an unknown id gets no answer",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k("a") } });
      await watch.next();
      watch.write({ create_request: { key: k("a") } });
      await watch.next();
      watch.write({ cancel_request: { watch_id: 0 } });
      t.like(await watch.next(), { watch_id: "0", canceled: true, created: false });
      watch.write({ cancel_request: { watch_id: 99 } });
      const put = await client.kv.put({ key: k("a"), value: b("1") });
      const next = await watch.next();
      t.like(next, { watch_id: "1", canceled: false });
      t.is(
        next.header.revision,
        put.header.revision,
        "nothing answered the unknown cancel, nor the cancelled watch",
      );
    },
  );

  test.serial(
    "W-progress a progress request is answered at once with watch_id -1 at the current revision (3.4.23)",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k("a") } });
      await watch.next();
      await client.kv.put({ key: k("other"), value: b("1") });
      const current = await revisionOf(client);
      watch.write({ progress_request: {} });
      const progress = await watch.next();
      t.like(progress, { watch_id: "-1", created: false, canceled: false });
      t.deepEqual(progress.events, []);
      t.is(progress.header.revision, String(current));
    },
  );

  test.serial(
    "W11 two namespaces watching the same key get the same events on their own streams",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const one = client.namespace(k("").toString());
      const two = client.namespace(k("").toString());
      const w1 = await one.watch().key("k").create();
      const w2 = await two.watch().key("k").create();
      t.teardown(() => Promise.all([w1.cancel(), w2.cancel()]));
      const got = Promise.all(
        [w1, w2].map((w) => new Promise<IWatchResponse>((resolve) => w.once("data", resolve))),
      );
      const put = await client.kv.put({ key: k("k"), value: b("v") });
      const [r1, r2] = await got;
      t.is(r1?.header.revision, put.header.revision);
      t.deepEqual(r1?.events, r2?.events);
      t.is(r1?.events[0]?.kv.key.toString(), "k", "each namespace sees its own key");
    },
  );
});
