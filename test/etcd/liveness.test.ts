/**
 * `EtcdLiveness`: the tests that need no real process fault run on real etcd and on
 * MemoryEtcd from test/suites/liveness.ts (true while the store answers, every probe
 * result wakes a watcher, a freeze, close()); here, on real etcd only: false within two
 * probe results of the member being killed, a failed request brings a probe forward,
 * an answer that refuses the request (permission denied) counts as alive, and the
 * process exits after close().
 *
 * "Within two intervals" is checked by counting probe results, not by a clock: after
 * the fault, at most one result can still be true (a probe etcd answered just before),
 * and the next probe starts `interval` ms after it and gives up `timeout` ms later.
 * Elapsed times are logged. Tests that disrupt the member are serial; the auth test has
 * a cluster of its own (enabling auth would break the others).
 */

import { fileURLToPath } from "node:url";
import test, { type ExecutionContext } from "ava";
import { type Etcd3, EtcdPermissionDeniedError } from "etcd3";
import { LIVENESS_PROBE_KEY } from "../../src/etcd/liveness-probe.js";
import { EtcdLiveness, type EtcdLivenessOptions } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { withBackends } from "../harness/backends.js";
import { pickFreePorts } from "../harness/ports.js";
import { enableAuth, READER } from "../helpers/auth.js";
import { deadline, putRetrying, recommendedClient } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";
import { drain, resultsUntil } from "../helpers/liveness-results.js";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";
import { livenessSuite } from "../suites/liveness.js";

const cluster = withCluster(test, { members: 1, memberControl: true });
checkLeaks(test, cluster);
const authCluster = withCluster(test, { members: 1, memberControl: true });
checkLeaks(test, authCluster);
const member = () => cluster().members[0]!;

// The tests that need no real process fault, on real etcd and on MemoryEtcd.
withBackends(
  test,
  (test, backend) => {
    checkLeaks(test, backend);
    livenessSuite(test, backend);
  },
  { faults: true },
);
const fixture = fileURLToPath(new URL("fixtures/liveness-then-exit.ts", import.meta.url));

/** A client with the recommended options (breaker half-opens after 500 ms), closed after the test. */
function client(t: ExecutionContext, hosts = cluster().endpoints): Etcd3 {
  const etcd = recommendedClient(hosts);
  t.teardown(() => etcd.close());
  return etcd;
}

/** A liveness object closed after the test. */
function liveness(t: ExecutionContext, etcd: Etcd3, options?: EtcdLivenessOptions): EtcdLiveness {
  const value = new EtcdLiveness(etcd, options);
  t.teardown(() => value.close());
  return value;
}

test.serial(
  "kill: false within two probe results of the member being killed; true again after restart",
  async (t) => {
    const w = liveness(t, client(t), { interval: 300 }).watch();
    t.teardown(() => w.close());
    t.true(await w.get(deadline(10_000, "the first probe")));
    await drain(w);
    const killedAt = performance.now();
    const killed = member().kill(); // SIGKILL is sent synchronously
    const results = await resultsUntil(w, false, 10_000, "false after the kill");
    const falseAfter = performance.now() - killedAt;
    await killed;
    t.true(results <= 2, `false at the latest at the second result after the kill (${results})`);
    await member().restart();
    const healthyAt = performance.now();
    await resultsUntil(w, true, 15_000, "true after the restart");
    t.log(
      `false ${Math.round(falseAfter)} ms after the kill (result ${results}); true ${Math.round(performance.now() - healthyAt)} ms after healthy (interval 300 ms)`,
    );
  },
);

test.serial(
  "other requests: a failed one brings the next probe forward, an answered one makes it true again",
  async (t) => {
    const etcd = client(t);
    // Probes alone would take 20 s: anything sooner was learned from other requests.
    const w = liveness(t, etcd, { interval: 20_000 }).watch();
    t.teardown(() => w.close());
    t.true(await w.get(deadline(10_000, "the first probe")));
    await member().kill();
    await t.throwsAsync(etcd.get("/liveness/any").string(), undefined, "etcd is down");
    t.false(
      await w.get(deadline(10_000, "a probe brought forward by the failed request")),
      "a request that failed without an answer brought a probe forward (at most 2 s after the last)",
    );
    await member().restart();
    await putRetrying(etcd, "/liveness/any", "back");
    const atOnce = await w.get({ backlogOnly: true }).then(
      () => true,
      () => false,
    );
    t.true(
      atOnce || (await w.get(deadline(10_000, "true again after a successful request"))),
      "true again long before the next regular probe",
    );
    t.log(atOnce ? "true as soon as the put succeeded" : "true from a probe brought forward");
  },
);

test("auth: a probe refused with permission denied counts as alive", async (t) => {
  const open = authCluster().client();
  await enableAuth(open, ["/app/"]);
  const app = recommendedClient(authCluster().endpoints, { auth: READER });
  t.teardown(() => app.close());
  await t.throwsAsync(
    app.get(LIVENESS_PROBE_KEY).string(),
    { instanceOf: EtcdPermissionDeniedError },
    "the user may not read the probe key",
  );
  const w = liveness(t, app, { interval: 300 }).watch();
  t.teardown(() => w.close());
  t.true(await w.get(deadline(10_000, "the first probe")), "permission denied: etcd answered");
  t.true(await w.get(deadline(10_000, "the second probe")));
});

test("close: a process that used liveness objects, closed them and its clients exits by itself", async (t) => {
  const [deadPort] = await pickFreePorts(1);
  const result = await runNode(fixture, {}, [
    cluster().endpoints[0]!,
    `http://127.0.0.1:${deadPort}`,
  ]);
  t.regex(result.stdout, /^closed$/m, `the fixture closed everything: ${describeChild(result)}`);
  t.true(exitedByItself(result), `must exit by itself with code 0: ${describeChild(result)}`);
});
