/**
 * README example: writing etcd values. Run with an etcd cluster:
 * `ETCD_ENDPOINTS=http://127.0.0.1:2379 node --import tsx examples/writes.ts`.
 *
 * The parts between `// #region NAME` and `// #endregion` are copied into README.md;
 * test/unit/examples.test.ts checks that they match, test/etcd/examples.test.ts runs this
 * file against a real etcd member.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { fileURLToPath } from "node:url";
// #region imports
import { AmbiguousWriteError, codecs, createEtcdClient, EtcdValue } from "../src/index.js";
// #endregion

export async function main(): Promise<void> {
  const endpoints = process.env.ETCD_ENDPOINTS ?? "http://127.0.0.1:2379";
  // #region set
  const client = createEtcdClient({ hosts: endpoints.split(",") });
  type Settings = { workers: number };
  const settings = new EtcdValue(client, "/writes-example/settings", {
    codec: codecs.json<Settings>(), // reads and writes JSON
  });

  await settings.set(undefined); // undefined deletes the key
  const created = await settings.set({ workers: 2 }, { ifRevision: 0 }); // only if absent
  assert(created.ok);
  const stale = await settings.set({ workers: 3 }, { ifRevision: created.revision - 1 });
  assert(!stale.ok && stale.reason === "revision"); // refused: the key is not at that revision
  assert.deepEqual(stale.value, { workers: 2 }); // and this is what it holds now
  const moved = await settings.set({ workers: 3 }, { ifRevision: stale.revision });
  assert(moved.ok && moved.revision > created.revision);
  // #endregion

  // #region update
  const counter = new EtcdValue(client, "/writes-example/counter", {
    codec: codecs.json<number>(),
  });
  await counter.set(0);
  // Ten concurrent increments, each a compare-and-set loop: none is lost.
  await Promise.all(Array.from({ length: 10 }, () => counter.update((n) => (n ?? 0) + 1)));
  const unchanged = await counter.update((n) => n); // returning current writes nothing
  assert(unchanged.ok);
  assert.equal(await client.get("/writes-example/counter").string(), "10");
  // #endregion

  // #region guard
  // A guard: write only while another key exists with the create revision we know (a
  // lock handle or a leadership is such a guard: it holds while the lock is held).
  const registration = await client.put("/writes-example/owner").value("me").exec();
  const owner = {
    key: "/writes-example/owner",
    createRevision: Number(registration.header.revision),
  };
  assert((await settings.set({ workers: 4 }, { guard: owner })).ok);
  await client.delete().key("/writes-example/owner"); // ownership lost
  const refused = await settings.set({ workers: 5 }, { guard: owner });
  assert(!refused.ok && refused.reason === "guard"); // nothing written
  // #endregion

  // #region ambiguous
  const current = await settings.set({ workers: 6 });
  assert(current.ok);
  try {
    await settings.set({ workers: 7 }, { ifRevision: current.revision });
  } catch (error) {
    if (!(error instanceof AmbiguousWriteError)) throw error;
    // Maybe applied, now or later. Sending it again with the same ifRevision is safe: at
    // most one of the two attempts can apply; a refusal reports the key as it is now.
    const again = await settings.set({ workers: 7 }, { ifRevision: current.revision });
    console.log(again.ok ? "written now" : `decided: ${JSON.stringify(again)}`);
  }
  // #endregion

  await client.delete().prefix("/writes-example/");
  client.close();
  console.log("writes: ok");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
