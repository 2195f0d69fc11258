/**
 * The leader process of row 16's kill rounds (see `etcd-failover.ts`), run by the parent
 * with `fork()`. Arguments: `ours` or `etcd3`, the etcd endpoint, the election's name,
 * the TTL in seconds. It campaigns on its own client, sends `leading` over IPC once it
 * leads, and then keeps its lease alive until the parent kills it with SIGKILL: nothing
 * is revoked or resigned, as when a machine dies.
 */

import { createEtcdClient, EtcdElection } from "../src/index.js";

/** Child → parent. */
export type FromFailoverChild = { type: "leading" };

const [side, endpoint, name, ttlText] = process.argv.slice(2);
if (endpoint === undefined || name === undefined || ttlText === undefined) {
  throw new Error("usage: failover-child.ts ours|etcd3 <endpoint> <name> <ttl>");
}
const ttl = Number(ttlText);
const client = createEtcdClient({ hosts: [endpoint] });
if (side === "ours") {
  await new EtcdElection(client, name, { ttl }).campaign(new TextEncoder().encode("killed"));
} else {
  await client.election(name, ttl).campaign("killed").wait();
}
process.send?.({ type: "leading" } satisfies FromFailoverChild);
// The lease's keepalives keep the process running until the parent kills it.
