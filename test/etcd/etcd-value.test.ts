/**
 * EtcdValue on real etcd and on MemoryEtcd, from one definition (test/suites/etcd-value.ts),
 * with the leak check of each store.
 */

import test from "ava";
import { withBackends } from "../harness/backends.js";
import { checkLeaks } from "../helpers/leaks.js";
import { etcdValueSuite } from "../suites/etcd-value.js";

withBackends(test, (test, backend) => {
  checkLeaks(test, backend);
  etcdValueSuite(test, backend);
});
