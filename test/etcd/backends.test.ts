/**
 * Proves `test/harness/backends.ts`: one suite registered once runs on each backend, with
 * prefixed titles, and each fault does on the backend what its doc says (compaction
 * refuses older reads, a disconnect breaks watch streams that then resume, a freeze
 * holds requests until the thaw, an expired lease deletes its keys, a wipe empties the
 * store). Every test disturbs the store, so all are serial.
 */

import { setTimeout as delay } from "node:timers/promises";
import test from "ava";
import { EtcdLeaseInvalidError, type Watcher as EtcdWatcher, GRPCOutOfRangeError } from "etcd3";
import { withBackends } from "../harness/backends.js";
import { deadline } from "../helpers/faults.js";

/** Resolves with the first `event` of `watcher`, or rejects when `signal` aborts. */
function once<T>(watcher: EtcdWatcher, event: string, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    watcher.once(event, (value: T) => {
      signal.removeEventListener("abort", abort);
      resolve(value);
    });
  });
}

withBackends(
  test,
  (test, backend) => {
    test.serial("titles: carry the backend's name in brackets", (t) => {
      t.true(t.title.startsWith(`[${backend().name}] `), t.title);
    });

    test.serial("client and revision: a put's revision is the store's revision", async (t) => {
      const client = backend().client();
      const put = await client.put("/backends/put").value("v").exec();
      t.is(await backend().revision(), Number(put.header.revision));
      t.is(await client.get("/backends/put").string(), "v");
    });

    test.serial("compact: reads below the compacted revision fail, at it succeed", async (t) => {
      const client = backend().client();
      const first = await client.put("/backends/compact").value("1").exec();
      await client.put("/backends/compact").value("2").exec();
      const compacted = await backend().compact();
      t.is(compacted, await backend().revision(), "default: the current revision");
      await t.throwsAsync(
        client.get("/backends/compact").revision(Number(first.header.revision)).string(),
        { instanceOf: GRPCOutOfRangeError, message: /compacted/ },
      );
      t.is(await client.get("/backends/compact").revision(compacted).string(), "2");
    });

    test.serial(
      "disconnect: a raw watcher loses its stream, reconnects, and sees later puts",
      async (t) => {
        const client = backend().client();
        const watcher = await client.watch().key("/backends/disconnect").create();
        t.teardown(() => watcher.cancel());
        const signal = deadline(20_000, "the watcher to reconnect");
        const disconnected = once(watcher, "disconnected", signal);
        await backend().disconnect();
        await disconnected;
        await once(watcher, "connected", signal);
        const put = once<{ value: Buffer }>(watcher, "put", signal);
        await client.put("/backends/disconnect").value("after").exec();
        t.is((await put).value.toString(), "after");
      },
    );

    test.serial(
      "freeze: a request made while frozen is answered only after the thaw",
      async (t) => {
        const client = backend().client();
        await client.put("/backends/freeze").value("v").exec();
        await backend().freeze();
        let thawed = false;
        const read = client
          .get("/backends/freeze")
          .string()
          .then((value) => ({ value, thawed }));
        // Proving an absence: nothing can be awaited, so give the answer time not to come.
        await delay(200);
        thawed = true;
        await backend().thaw();
        t.deepEqual(await read, { value: "v", thawed: true }, "answered after the thaw");
      },
    );

    test.serial(
      "expireLease: the lease's keys are deleted in one revision; a keepalive finds it gone",
      async (t) => {
        const client = backend().client();
        const lease = client.lease(60, { autoKeepAlive: false });
        t.teardown(() => lease.revoke().catch(() => {}));
        const id = await lease.grant();
        await lease.put("/backends/lease/a").value("a").exec();
        await lease.put("/backends/lease/b").value("b").exec();
        const watcher = await client.watch().prefix("/backends/lease/").create();
        t.teardown(() => watcher.cancel());
        const signal = deadline(10_000, "the lease's deletions");
        const data = once<{ events: { type: string; kv: { mod_revision: string } }[] }>(
          watcher,
          "data",
          signal,
        );
        await backend().expireLease(id);
        const events = (await data).events;
        t.deepEqual(
          events.map((event) => event.type),
          ["Delete", "Delete"],
        );
        t.is(new Set(events.map((event) => event.kv.mod_revision)).size, 1, "one revision");
        await t.throwsAsync(lease.keepaliveOnce(), { instanceOf: EtcdLeaseInvalidError });
      },
    );

    test.serial("wipe: the store is empty at revision 1", async (t) => {
      const before = backend().client();
      await before.put("/backends/wipe").value("v").exec();
      await backend().wipe();
      t.is(await backend().revision(), 1);
      const client = backend().client();
      t.is(await client.get("/backends/wipe").string(), null);
    });
  },
  { faults: true },
);
