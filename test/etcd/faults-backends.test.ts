/**
 * The faults both stores can inject, on real etcd and on MemoryEtcd, from one definition
 * (test/suites/faults.ts): the library reacts to the twin's faults as to the real ones.
 * The faults only a real process has (kill -9, TLS, auth, clusters) are in faults.test.ts
 * and its neighbours.
 */

import test from "ava";
import { withBackends } from "../harness/backends.js";
import { checkLeaks } from "../helpers/leaks.js";
import { faultSuite } from "../suites/faults.js";

withBackends(
  test,
  (test, backend) => {
    checkLeaks(test, backend);
    faultSuite(test, backend);
  },
  { faults: true },
);
