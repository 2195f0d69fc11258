/**
 * `createEtcdClient`'s gRPC keepalive stays within etcd's enforcement policy: etcd
 * (`--grpc-keepalive-min-time` 5 s, pings without streams not permitted) closes a
 * connection that pings while it has no call with GOAWAY `too_many_pings` at the fourth
 * ping, which fails whatever call starts at that moment. The library's client pings
 * only while calls are in flight.
 */

import test from "ava";
import { withCluster } from "../harness/ava.js";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

const cluster = withCluster(test, { members: 1 });

test("keepalive: a client idle for 23 s (past the fourth ping, where etcd strikes out) keeps its connection: etcd never answers with too_many_pings", async (t) => {
  t.timeout(90_000);
  const result = await runNode(
    "test/etcd/fixtures/idle-client.ts",
    // grpc-js's transport trace names the GOAWAY and its reason.
    { GRPC_TRACE: "transport", GRPC_VERBOSITY: "DEBUG" },
    [cluster().endpoints[0]!, "23000"],
    80_000,
  );
  t.true(exitedByItself(result), describeChild(result));
  t.regex(result.stdout, /^done$/m, describeChild(result));
  t.regex(result.stderr, /transport/, "the trace is on");
  t.notRegex(result.stderr, /GOAWAY|too_many_pings|excess pings/, "no GOAWAY");
});
