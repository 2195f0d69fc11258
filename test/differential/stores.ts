/** Fresh stores for the differential test: a new etcd member, or a new `MemoryEtcd`. */

import { type EtcdCluster, startCluster } from "../harness/etcd-cluster.js";
import { newTwin } from "../harness/twin.js";
import type { Store } from "./lockstep.js";

/**
 * New single etcd members, one started ahead while the current one is in use (a member
 * takes about half a second to become healthy). Always spawned (never `ETCD_ENDPOINTS`):
 * each run needs an empty store at revision 1. `close()` stops the one started ahead.
 */
export class MemberSupply {
  #ahead: Promise<EtcdCluster> | undefined;

  /** A fresh member as a {@link Store}; the next one starts in the background. */
  async next(): Promise<Store> {
    // Taken and replaced synchronously: concurrent calls never share a member.
    const taken = this.#ahead ?? this.#start();
    this.#ahead = this.#start();
    this.#ahead.catch(() => {}); // surfaces at the next `next()`
    const cluster = await taken;
    return { label: "etcd", client: cluster.client(), stop: () => cluster.stop() };
  }

  #start(): Promise<EtcdCluster> {
    return startCluster({ members: 1, memberControl: true });
  }

  async close(): Promise<void> {
    const ahead = this.#ahead;
    this.#ahead = undefined;
    await ahead?.then(
      (cluster) => cluster.stop(),
      () => {},
    );
  }
}

/** A fresh `MemoryEtcd` as a {@link Store}. */
export async function twinStore(): Promise<Store> {
  const twin = newTwin();
  const client = twin.client();
  return {
    label: "memory",
    client,
    stop: async () => {
      client.close();
      twin.close();
    },
  };
}
