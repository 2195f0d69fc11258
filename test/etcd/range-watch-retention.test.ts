/**
 * A per-key range watcher keeps no value it has returned once the key has a newer one: it
 * remembers which keys its first snapshot had (to judge later deletions), not the
 * snapshot's values. Without that, a long-lived watcher of a large range would keep its
 * first generation of values alive for as long as it lives. On both backends.
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import test from "ava";
import { BacklogDoneError, EtcdRangeValue, type KeyUpdate, type Watcher } from "../../src/index.js";
import { withBackends } from "../harness/backends.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const KEYS = 50;

/**
 * Weak references to the values of the watcher's first snapshot, read key by key. In a
 * function of its own, so that no frame of the test holds the last value read.
 */
async function backlogRefs(watcher: Watcher<KeyUpdate<unknown>>): Promise<WeakRef<object>[]> {
  const refs: WeakRef<object>[] = [];
  for (;;) {
    try {
      const update = await watcher.get({ backlogOnly: true });
      if (update.value !== undefined) refs.push(new WeakRef(update.value as object));
    } catch (error) {
      if (error instanceof BacklogDoneError) return refs;
      throw error;
    }
  }
}

withBackends(test, (test, backend) => {
  test.serial(
    "a per-key watcher keeps no value of its first snapshot once every key has a newer one",
    async (t) => {
      const client = backend().client();
      const prefix = "/range-retention/";
      const keyOf = (i: number): string => `${prefix}${String(i).padStart(3, "0")}`;
      for (let i = 0; i < KEYS; i++) await client.put(keyOf(i)).value(`first ${i}`);
      const range = new EtcdRangeValue(client, { prefix });
      const watcher = range.watch();
      t.teardown(() => watcher.close());
      const firstValues = await backlogRefs(watcher);
      t.is(firstValues.length, KEYS, "the snapshot gave every key");
      for (let i = 0; i < KEYS; i++) await client.put(keyOf(i)).value(`second ${i}`);
      for (let i = 0; i < KEYS; i++) {
        const update = await watcher.get();
        t.true(String(update.value).startsWith("second"), `${update.key} has its newer value`);
      }
      // The twin keeps its history's values until compacted; etcd's are in another process.
      await backend().compact();
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const kept = firstValues.filter((ref) => ref.deref() !== undefined).length;
      t.is(kept, 0, `${kept} of the first snapshot's ${KEYS} values still reachable`);
    },
  );
});
