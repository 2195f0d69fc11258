/** The examples that need etcd, run against a real member: the demo and the etcd usage. */

import test from "ava";
import { withCluster } from "../harness/ava.js";
import { checkStory, DEMO_STORY, demoStory } from "../helpers/demo-story.js";
import { checkLeaks } from "../helpers/leaks.js";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);

test("demo: with ETCD_ENDPOINTS it tells the same controller story on every run and leaves no election or registry key", async (t) => {
  const endpoints = cluster().endpoints.join(",");
  for (const run of [1, 2]) {
    const result = await runNode("examples/demo.ts", { ETCD_ENDPOINTS: endpoints });
    t.true(exitedByItself(result), `run ${run} must exit by itself: ${describeChild(result)}`);
    t.regex(result.stdout, /^etcd at .*, keys under \/event-value-demo\/\n/, "uses etcd");
    const lines = demoStory(result.stdout);
    const { leaders, violations } = checkStory(lines);
    t.deepEqual(
      violations,
      [],
      `run ${run}: one leader at a time, takeover after stop, status by the leader only`,
    );
    t.deepEqual(leaders, ["replica-a", "replica-b"], `run ${run}: replica-b takes over`);
    t.deepEqual(lines, [...DEMO_STORY], `run ${run}: the same lines as on MemoryEtcd`);
  }
  const client = cluster().client();
  for (const prefix of ["/event-value-demo/leader/", "/event-value-demo/replicas/"]) {
    t.deepEqual(await client.getAll().prefix(prefix).keys(), [], `nothing left under ${prefix}`);
  }
});

test("example: examples/quick-start.ts reloads twice, stops on SIGTERM and exits by itself", async (t) => {
  const endpoints = cluster().endpoints.join(",");
  const result = await runNode("examples/quick-start.ts", { ETCD_ENDPOINTS: endpoints });
  t.true(exitedByItself(result), `must exit by itself with code 0: ${describeChild(result)}`);
  t.is(
    result.stdout,
    "reconfigure: 2 workers\nreconfigure: 4 workers\nquick-start: stopped\n",
    "the abort of the loop's signal ended it normally",
  );
});

test("example: examples/etcd-value.ts passes its assertions and exits by itself", async (t) => {
  const endpoints = cluster().endpoints.join(",");
  const result = await runNode("examples/etcd-value.ts", { ETCD_ENDPOINTS: endpoints });
  t.true(exitedByItself(result), `must exit by itself with code 0: ${describeChild(result)}`);
  t.regex(result.stdout, /^etcd-value: ok/m);
});

test("example: examples/writes.ts passes its assertions and exits by itself", async (t) => {
  const endpoints = cluster().endpoints.join(",");
  const result = await runNode("examples/writes.ts", { ETCD_ENDPOINTS: endpoints });
  t.true(exitedByItself(result), `must exit by itself with code 0: ${describeChild(result)}`);
  t.regex(result.stdout, /^writes: ok/m);
});

test("example: examples/coordination.ts passes its assertions and exits by itself", async (t) => {
  const endpoints = cluster().endpoints.join(",");
  const result = await runNode("examples/coordination.ts", { ETCD_ENDPOINTS: endpoints });
  t.true(exitedByItself(result), `must exit by itself with code 0: ${describeChild(result)}`);
  t.regex(result.stdout, /^coordination: ok/m);
});
