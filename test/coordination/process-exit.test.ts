/** After every lease, lock, leadership and temp key is closed, the process exits by itself. */

import test from "ava";
import { withCluster } from "../harness/ava.js";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

const cluster = withCluster(test, { members: 1 });

test("close: a process that used every coordination object and closed them exits by itself", async (t) => {
  const result = await runNode("test/etcd/fixtures/coordination-then-exit.ts", {}, [
    cluster().endpoints[0] as string,
  ]);
  t.true(result.stdout.includes("closed"), describeChild(result));
  t.true(exitedByItself(result), describeChild(result));
});
