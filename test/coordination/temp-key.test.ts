/**
 * EtcdTempKey on both backends: the key appears under its lease; after the lease
 * expires, a revoke by another client, or a delete of the key, watchers see false and
 * the key comes back under a new lease; close() removes the key and its lease.
 */

import test from "ava";
import type { Etcd3 } from "etcd3";
import { EtcdTempKey, type Watcher, WatcherClosedError } from "../../src/index.js";
import { withBackends } from "../harness/backends.js";
import { deadline } from "../helpers/faults.js";

/** The key's lease ID ("0": none), or undefined when absent. */
async function leaseOf(client: Etcd3, key: string): Promise<string | undefined> {
  const response = await client.get(key).exec();
  return response.kvs[0]?.lease;
}

/** Waits until the watcher returns `present`; bound 10 s. */
function until(w: Watcher<boolean>, present: boolean): Promise<boolean> {
  return w.get({
    signal: deadline(10_000, `the temp key to be ${present ? "present" : "absent"}`),
    filter: (p) => p === present,
  });
}

withBackends(test, (test, backend) => {
  test("temp key: appears under a lease of its own; watchers see true", async (t) => {
    const client = backend().client();
    const temp = new EtcdTempKey(client, "/temp/appears", "here", { ttl: 5 });
    t.teardown(() => temp.close());
    const w = temp.watch();
    t.is(await w.get(), false, "false until it is written");
    t.true(await until(w, true));
    t.is(await client.get("/temp/appears").string(), "here");
    t.not(await leaseOf(client, "/temp/appears"), "0", "the key lives under a lease");
    w.close();
  });

  for (const [how, end] of [
    [
      "the lease expires",
      (client: Etcd3, lease: string) =>
        backend()
          .expireLease(lease)
          .then(() => client),
    ],
    [
      "another client revokes the lease",
      (client: Etcd3, lease: string) => client.leaseClient.leaseRevoke({ ID: lease }),
    ],
    ["someone deletes the key", (client: Etcd3) => client.delete().key("/temp/lost").exec()],
  ] as const) {
    test.serial(
      `temp key: when ${how}, watchers see false, then the key comes back under a new lease`,
      async (t) => {
        const client = backend().client();
        const temp = new EtcdTempKey(client, "/temp/lost", "again", { ttl: 5 });
        t.teardown(() => temp.close());
        const w = temp.watch();
        t.teardown(() => w.close());
        await until(w, true);
        const first = (await leaseOf(client, "/temp/lost")) as string;
        await end(client, first);
        t.false(await until(w, false), "false once lost");
        t.true(await until(w, true), "true again once re-written");
        const second = await leaseOf(client, "/temp/lost");
        t.not(second, undefined);
        t.not(second, first, "under a new lease");
        t.is(await client.get("/temp/lost").string(), "again");
      },
    );
  }

  test("temp key: close() removes the key and its lease; watchers see false, then are closed", async (t) => {
    const client = backend().client();
    const temp = new EtcdTempKey(client, "/temp/close", "bye", { ttl: 5 });
    const w = temp.watch();
    await until(w, true);
    const lease = (await leaseOf(client, "/temp/close")) as string;
    const pending = w.get();
    await temp.close();
    await temp.close(); // idempotent
    t.false(await pending, "watchers see the key go");
    await t.throwsAsync(w.get(), { instanceOf: WatcherClosedError }, "then they are closed");
    t.is(await client.get("/temp/close").string(), null, "the key is gone");
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: lease });
    t.is(Number(ttl.TTL), -1, "the lease is gone");
  });
});
