/**
 * `watchKeyEarly` (src/coordination/key-gone.ts), the watch a lock or election contender
 * starts on its own key before writing it, on both backends: changes that came before
 * the key was followed are judged by their revision once it is (replayed, not lost), and
 * changes up to the write's revision are older than the key followed, so they are skipped.
 */

import test from "ava";
import type { Etcd3 } from "etcd3";
import { type LiveKey, watchKeyEarly } from "../../src/coordination/key-gone.js";
import { singleKey } from "../../src/etcd/key-range.js";
import { portOf } from "../../src/etcd/port.js";
import { DEFAULT_TUNING } from "../../src/etcd/retry-policy.js";
import { watchHub } from "../../src/etcd/watch-hub.js";
import { withBackends } from "../harness/backends.js";
import { checkLeaks } from "../helpers/leaks.js";
import { isPending } from "../helpers/pending.js";

/**
 * A watch of `key` on the client's shared stream, created after every watch started
 * before this call (etcd answers creates in order, so those are in place once it is).
 * Both are synced watches of one stream: etcd queues their responses of one revision
 * together, in revision order, so once the probe has seen a revision after R, the other
 * watch has been handed revision R's events too.
 */
async function probe(
  client: Etcd3,
  key: string,
): Promise<{ until: (revision: number) => Promise<void>; close: () => void }> {
  let seen = 0;
  const waiting = new Set<() => void>();
  const watch = await watchHub(portOf(client)).attach(
    {
      range: singleKey(client.prefix, key),
      startRevision: 0,
      onResponse: (response) => {
        seen = Math.max(seen, Number(response.header.revision));
        for (const wake of waiting) wake();
      },
    },
    DEFAULT_TUNING,
  );
  return {
    until: async (revision) => {
      while (seen < revision) {
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            waiting.delete(wake);
            resolve();
          };
          waiting.add(wake);
        });
      }
    },
    close: () => watch.close(),
  };
}

/** Puts `key` and resolves the put's revision. */
async function put(client: Etcd3, key: string, value: string): Promise<number> {
  return Number((await client.put(key).value(value).exec()).header.revision);
}

/** Follows `key` from the given write; resolves the callbacks' outcome as a promise. */
function follow(
  early: ReturnType<typeof watchKeyEarly>,
  known: { createRevision: number; seenAt: number },
): { gone: Promise<LiveKey>; stop: () => void } {
  let stop = (): void => {};
  const gone = new Promise<LiveKey>((resolve, reject) => {
    stop = early.follow(known, resolve, reject).stop;
  });
  return { gone, stop };
}

withBackends(test, (test, backend) => {
  checkLeaks(test, backend);

  test("early watch: a deletion between the write and follow() is reported once the key is followed", async (t) => {
    const client = backend().client();
    const key = "/key-early/deleted";
    const early = watchKeyEarly(client, key);
    const witness = await probe(client, key);
    t.teardown(witness.close);
    const revision = await put(client, key, "");
    await client.delete().key(key).exec();
    const { gone, stop } = follow(early, { createRevision: revision, seenAt: revision });
    t.teardown(stop);
    t.deepEqual(await gone, { key, createRevision: revision });
  });

  test("early watch: changes up to the write's revision are skipped, a later deletion is reported", async (t) => {
    const client = backend().client();
    const key = "/key-early/recreated";
    const early = watchKeyEarly(client, key);
    const witness = await probe(client, key);
    t.teardown(witness.close);
    await put(client, key, "old");
    await client.delete().key(key).exec(); // an older incarnation's deletion
    const revision = await put(client, key, "");
    const { gone, stop } = follow(early, { createRevision: revision, seenAt: revision });
    t.teardown(stop);
    await put(client, key, "again"); // a put of the same incarnation is no loss either
    // Once the witness has seen a revision after these, the early watch has been handed them.
    await witness.until(await put(client, key, "marker"));
    t.true(await isPending(gone), "neither the older deletion nor a put ends the key");
    await client.delete().key(key).exec();
    t.deepEqual(await gone, { key, createRevision: revision });
  });

  test("early watch: stop() before follow() ends the watch and reports nothing", async (t) => {
    const client = backend().client();
    const early = watchKeyEarly(client, "/key-early/stopped");
    const witness = await probe(client, "/key-early/stopped");
    witness.close();
    early.stop();
    early.stop();
    t.pass("idempotent; the suite's leak check then finds no watch stream left open");
  });
});
