/**
 * Many `EtcdValue`s of distinct keys started together on one client (their first reads
 * go out as a few read-only `Txn`s, see src/etcd/key-read-batch.ts), on real etcd and
 * on MemoryEtcd: each holds its own key's value, an absent key is absent, each status
 * turns live, and each then sees a put to its key and nothing of the others'.
 */

import test from "ava";
import { decoders, EtcdValue } from "../../src/index.js";
import { withBackends } from "../harness/backends.js";
import { checkLeaks } from "../helpers/leaks.js";
import { isPending } from "../helpers/pending.js";

/** More than two `Txn`s' worth (128 reads each). */
const VALUES = 300;

withBackends(test, (test, backend) => {
  checkLeaks(test, backend);

  test("values started together: each holds its key's value, then each sees its own next put", async (t) => {
    const client = backend().client();
    const prefix = "/many-values/";
    const keyOf = (i: number): string => `${prefix}${String(i).padStart(4, "0")}`;
    for (let i = 0; i < VALUES; i += 100) {
      const success = [];
      for (let j = i; j < Math.min(VALUES, i + 100); j++) {
        if (j % 7 === 3) continue; // some keys absent
        success.push({ request_put: { key: Buffer.from(keyOf(j)), value: Buffer.from(`a${j}`) } });
      }
      await client.kv.txn({ success });
    }
    const values = Array.from(
      { length: VALUES },
      (_, i) => new EtcdValue(client, keyOf(i), { decoder: decoders.text }),
    );
    const watchers = values.map((value) => value.watch());
    t.teardown(() => {
      for (const watcher of watchers) watcher.close();
    });
    const first = await Promise.all(watchers.map((watcher) => watcher.get()));
    t.deepEqual(
      first,
      values.map((_, i) => (i % 7 === 3 ? undefined : `a${i}`)),
      "each value its own key's, absent where never written",
    );
    await Promise.all(
      values.map(async (value) => {
        const status = value.status().watch();
        try {
          await status.get({ filter: (s) => s.state === "live" });
        } finally {
          status.close();
        }
      }),
    );
    for (let i = 0; i < VALUES; i += 2) await client.put(keyOf(i)).value(`b${i}`);
    const second = await Promise.all(
      watchers.filter((_, i) => i % 2 === 0).map((watcher) => watcher.get()),
    );
    t.deepEqual(
      second,
      values.filter((_, i) => i % 2 === 0).map((_, k) => `b${2 * k}`),
      "each sees the put to its own key",
    );
    // The last put's event has arrived, so a put misrouted to another value would have too.
    const unchanged = watchers.filter((_, i) => i % 2 === 1);
    t.deepEqual(
      await Promise.all(unchanged.map((watcher) => isPending(watcher.get()))),
      unchanged.map(() => true),
      "the others have nothing new",
    );
  });
});
