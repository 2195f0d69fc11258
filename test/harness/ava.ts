import type { TestFn } from "ava";
import type { Etcd3 } from "etcd3";
import { type EtcdCluster, type StartClusterOptions, startCluster } from "./etcd-cluster.js";

/**
 * Gives every test of a file one cluster: started in `test.before`, stopped (members
 * killed, data deleted, clients closed) in `test.after.always`, so also after a failed
 * test. Returns a getter to call inside tests.
 *
 * Tests of a file run concurrently unless declared with `test.serial`: declare those
 * that kill, freeze or wipe members serial, or give them a cluster of their own. If the
 * cluster cannot start, `test.before` fails and so does every test of the file (never a
 * silent skip). Ava runs each file in its own worker, so files never share a cluster.
 *
 * @example
 * const cluster = withCluster(test, { members: 3, memberControl: true });
 * test.serial("survives a killed member", async (t) => {
 *   const client = cluster().client();
 *   t.teardown(() => client.close());
 * });
 */
export function withCluster<Context>(
  test: TestFn<Context>,
  options: StartClusterOptions = {},
): () => EtcdCluster {
  let cluster: EtcdCluster | undefined;
  test.before(async () => {
    cluster = await startCluster(options);
  });
  test.after.always(async () => {
    await cluster?.stop();
  });
  return () => {
    if (cluster === undefined) {
      throw new Error(
        "withCluster(): the cluster is not started; call the getter inside a test, not at module level",
      );
    }
    return cluster;
  };
}

/**
 * One client of `cluster` for every test of a file, made at first use (the cluster
 * starts in a hook, after the module is loaded) and closed by the cluster's `stop()`.
 */
export function lazyClient(cluster: () => EtcdCluster): () => Etcd3 {
  let client: Etcd3 | undefined;
  return () => {
    client ??= cluster().client();
    return client;
  };
}
