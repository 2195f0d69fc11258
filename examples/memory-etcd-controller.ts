/**
 * README example: testing a controller with `MemoryEtcd`, an etcd in memory whose
 * `client()` is a real `etcd3` client. Run: `node --import tsx examples/memory-etcd-controller.ts`.
 *
 * The controller keeps a table of pools in step with the keys under `/pools/`; the test
 * part drives it through the twin and injects faults (a dropped connection, compaction,
 * an expired lease, data loss), with no etcd process and no sleeps.
 *
 * The parts between `// #region NAME` and `// #endregion` are copied into README.md
 * (with `../src/index.js` written as `event-value`); test/unit/examples.test.ts checks
 * that they match and runs this file.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { fileURLToPath } from "node:url";
// #region imports
import type { Etcd3 } from "etcd3";
import { decoders, EtcdRangeValue, MemoryEtcd, MemoryValue } from "../src/index.js";
// #endregion

// #region controller
export interface Pool {
  size: number;
}

/** Calls `apply` with every pool under `/pools/`, then again at each change, until `signal`. */
export async function runPoolController(
  client: Etcd3,
  signal: AbortSignal,
  apply: (pools: ReadonlyMap<string, Pool>) => void,
): Promise<void> {
  const decoder = decoders.json<Pool>();
  const pools = new EtcdRangeValue(client, { prefix: "/pools/" }, { decoder });
  for await (const snapshot of pools.snapshots().watch({ signal })) apply(snapshot.entries);
}
// #endregion

export async function main(): Promise<void> {
  // #region test
  const etcd = new MemoryEtcd(); // an empty store at revision 1; no process, no socket
  const client = etcd.client(); // a real etcd3 client, served in memory
  const tables = new MemoryValue<ReadonlyMap<string, Pool>>(new Map()); // what it applied
  const stop = new AbortController();
  const running = runPoolController(client, stop.signal, (pools) => tables.set(pools));
  const applied = tables.watch();
  const until = async (done: (pools: ReadonlyMap<string, Pool>) => boolean) => {
    for (;;) if (done(await applied.get())) return;
  };
  const put = (key: string, size: number) => client.put(key).value(JSON.stringify({ size }));

  await put("/pools/a", 1);
  await until((pools) => pools.get("/pools/a")?.size === 1);

  etcd.disconnect(); // every watch stream breaks: the controller reconnects and resumes
  await put("/pools/b", 2);
  await until((pools) => pools.has("/pools/b"));

  etcd.disconnect(); // broken again, and the history it would resume from compacted away
  await put("/pools/a", 3);
  etcd.compact(); // the controller reads the range again and sees no gap
  await until((pools) => pools.get("/pools/a")?.size === 3);

  const lease = client.lease(10, { autoKeepAlive: false });
  await lease.put("/pools/temporary").value(JSON.stringify({ size: 1 }));
  await until((pools) => pools.has("/pools/temporary"));
  etcd.expireLease(await lease.grant()); // its keys are deleted now, as at the end of its TTL
  await until((pools) => !pools.has("/pools/temporary"));

  etcd.wipe(); // data loss: an empty store at revision 1, a new cluster ID
  await until((pools) => pools.size === 0); // the controller follows, no error

  stop.abort(); // the controller's loop ends normally
  await running;
  applied.close();
  client.close();
  etcd.close();
  // #endregion
  assert.equal(tables.current?.size, 0);
  console.log("memory-etcd-controller: ok");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
