/**
 * EtcdRangeValue on real etcd and on MemoryEtcd, from one definition
 * (test/suites/range-value.ts), with the leak check of each store.
 */

import test from "ava";
import { withBackends } from "../harness/backends.js";
import { checkLeaks } from "../helpers/leaks.js";
import { rangeValueSuite } from "../suites/range-value.js";

withBackends(test, (test, backend) => {
  checkLeaks(test, backend);
  rangeValueSuite(test, backend);
});
