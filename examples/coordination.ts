/**
 * README example: leases, temp keys, locks and elections. Run with an etcd cluster:
 * `ETCD_ENDPOINTS=http://127.0.0.1:2379 node --import tsx examples/coordination.ts`.
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
import {
  codecs,
  createEtcdClient,
  EtcdElection,
  EtcdLease,
  EtcdLock,
  EtcdTempKey,
  EtcdValue,
  LostError,
} from "../src/index.js";
// #endregion

export async function main(): Promise<void> {
  const endpoints = process.env.ETCD_ENDPOINTS ?? "http://127.0.0.1:2379";
  const client = createEtcdClient({ hosts: endpoints.split(",") });

  // #region lease
  const lease = await EtcdLease.grant(client, { ttl: 5 }); // kept alive every ttl/3
  const session = new EtcdValue(client, "/coord-example/session", { codec: codecs.text });
  await session.set("open", { lease }); // the key goes when the lease does
  assert.equal(await lease.watch().get(), "alive"); // alive | suspect | lost | revoked
  await lease.revoke(); // etcd deletes the lease's keys
  assert(lease.signal.reason instanceof LostError && lease.signal.reason.reason === "revoked");
  // #endregion

  // #region temp-key
  // An ephemeral key: written again under a new lease whenever it is lost, until close().
  const registration = new EtcdTempKey(client, "/coord-example/members/a", "10.0.0.1:8080");
  const present = registration.watch();
  assert.equal(await present.get({ filter: (here) => here }), true); // in etcd now
  present.close();
  await registration.close(); // deletes the key and revokes its lease
  // #endregion

  // #region lock
  const lock = new EtcdLock(client, "/coord-example/lock"); // etcdctl lock's layout
  const handle = await lock.acquire({ signal: AbortSignal.timeout(10_000) });
  const report = new EtcdValue(client, "/coord-example/report", { codec: codecs.text });
  try {
    // Fenced: etcd applies the write only while this handle holds the lock.
    const written = await report.set(`by ${handle.createRevision}`, { guard: handle });
    assert(written.ok);
    assert.equal(await lock.tryAcquire(), undefined); // held: no key left behind
  } finally {
    await handle.release(); // deletes the key only if it is still this holder's
  }
  // #endregion

  // #region election
  const election = new EtcdElection(client, "/coord-example/leader", { codec: codecs.text });
  const leaders = election.leader().watch(); // anyone may watch the leader
  assert.equal(await leaders.get(), undefined); // nobody campaigns yet
  const leadership = await election.campaign("replica-1"); // resolves once leading
  assert.equal((await leaders.get())?.value, "replica-1");
  await leadership.proclaim("replica-1 (ready)"); // fenced by the term
  assert.equal((await leaders.get())?.value, "replica-1 (ready)");
  leadership.signal.addEventListener("abort", () => {
    // Lost (lease lost, key deleted) or resigned: stop acting as the leader.
  });
  await leadership.resign();
  assert.equal(await leaders.get(), undefined);
  leaders.close();
  // #endregion

  await client.delete().prefix("/coord-example/");
  client.close();
  console.log("coordination: ok");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
