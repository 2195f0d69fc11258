/**
 * `watch({ signal })` on the etcd values that cannot be written at will: `status()` of
 * an `EtcdValue` and of an `EtcdRangeValue`, and `EtcdLiveness`. The same clauses run
 * for every other value inside `watcherContract` (test/contract/watcher-contract.ts).
 */

import test from "ava";
import { EtcdLiveness, EtcdRangeValue, EtcdValue } from "../../src/index.js";
import { watchSignalContract } from "../contract/watcher-contract.js";
import { lazyClient, withCluster } from "../harness/ava.js";
import { checkLeaks } from "../helpers/leaks.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);
const etcd = lazyClient(cluster);

watchSignalContract(test, "EtcdValue.status()", async (id) => {
  const value = new EtcdValue(etcd(), `/signal/${id}`);
  const held = value.watch(); // the status moves past `connecting` while a watcher is open
  await held.get();
  return { value: value.status(), dispose: async () => held.close() };
});

watchSignalContract(test, "EtcdRangeValue.status()", async (id) => {
  const value = new EtcdRangeValue(etcd(), { prefix: `/signal/${id}/` });
  return { value: value.status(), dispose: async () => {} };
});

watchSignalContract(test, "EtcdLiveness", async () => {
  const liveness = new EtcdLiveness(etcd(), { interval: 60_000 });
  return { value: liveness, dispose: async () => liveness.close() };
});
