/**
 * README example: etcd values. Run with an etcd cluster:
 * `ETCD_ENDPOINTS=http://127.0.0.1:2379 node --import tsx examples/etcd-value.ts`.
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
import { z } from "zod";
import { createEtcdClient, decoders, EtcdRangeValue, EtcdValue } from "../src/index.js";
// #endregion

export async function main(): Promise<void> {
  // #region key
  const endpoints = process.env.ETCD_ENDPOINTS ?? "http://127.0.0.1:2379"; // comma-separated
  const client = createEtcdClient({ hosts: endpoints.split(",") }); // recommended options
  const AppConfig = z.object({ workers: z.number().int().min(1) });
  const config = new EtcdValue(client, "/example/config", {
    decoder: decoders.schema(AppConfig),
  });

  await client.delete().key("/example/config");
  const watcher = config.watch();
  assert.equal(await watcher.get(), undefined); // absent key: undefined, at once
  await client.put("/example/config").value(JSON.stringify({ workers: 4 }));
  assert.deepEqual(await watcher.get(), { workers: 4 }); // then each newer value
  watcher.close(); // the last watcher closed: the shared etcd watch is released
  // #endregion

  // #region range
  await client.delete().prefix("/example/pools/");
  await client.put("/example/pools/b").value("2");
  await client.put("/example/pools/a").value("1");
  const decoder = decoders.text;
  const pools = new EtcdRangeValue(client, { prefix: "/example/pools/" }, { decoder });

  const perKey = pools.watch();
  const first = await perKey.get(); // the snapshot first, one key per get, in key order
  const second = await perKey.get();
  assert.deepEqual([first.key, second.key], ["/example/pools/a", "/example/pools/b"]);
  await client.delete().key("/example/pools/a");
  const update = await perKey.get(); // then one update per changed key
  assert.deepEqual([update.key, update.value], ["/example/pools/a", undefined]); // deleted
  perKey.close();

  const snapshots = pools.snapshots().watch(); // the whole range per get
  const snapshot = await snapshots.get();
  assert.deepEqual([...snapshot.entries], [["/example/pools/b", "2"]]);
  snapshots.close();
  // #endregion

  // #region status
  const health = config.status().watch(); // connecting | live | stale | failed
  const values = config.watch();
  await values.get();
  const live = await health.get({ filter: (status) => status.state === "live" });
  assert.ok((live.revision ?? 0) > 0); // the revision the watch resumes from
  values.close();
  health.close();
  client.close(); // after every watcher is closed, the process can exit
  // #endregion

  console.log(`etcd-value: ok (snapshot at revision ${snapshot.revision})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
