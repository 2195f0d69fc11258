/**
 * `EtcdLiveness` against a real etcd: true while the member answers, false within two
 * probe results of the member being killed or frozen, true again after it returns;
 * every probe result wakes a waiting watcher; other requests' outcomes are used; an
 * answer that refuses the request (permission denied) counts as alive; close() stops
 * probing and lets the process exit.
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
import {
  BacklogDoneError,
  EtcdLiveness,
  type EtcdLivenessOptions,
  type Watcher,
  WatcherClosedError,
} from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { pickFreePorts } from "../harness/ports.js";
import { enableAuth, READER } from "../helpers/auth.js";
import { deadline, putRetrying, recommendedClient } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

const cluster = withCluster(test, { members: 1, memberControl: true });
checkLeaks(test, cluster);
const authCluster = withCluster(test, { members: 1, memberControl: true });
checkLeaks(test, authCluster);
const member = () => cluster().members[0]!;
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

/** Takes the result that has already arrived, if any, so the next get() waits for a new one. */
async function drain(w: Watcher<boolean>): Promise<void> {
  try {
    await w.get({ backlogOnly: true });
  } catch (error) {
    if (!(error instanceof BacklogDoneError)) throw error;
  }
}

/** Gets results until one equals `wanted`; returns how many results that took (1: the first). */
async function resultsUntil(
  w: Watcher<boolean>,
  wanted: boolean,
  ms: number,
  what: string,
): Promise<number> {
  const signal = deadline(ms, what);
  for (let count = 1; ; count++) {
    if ((await w.get(signal)) === wanted) return count;
  }
}

test("value: true while the member answers; the first get() waits for the first probe", async (t) => {
  const w = liveness(t, client(t), { interval: 500 }).watch();
  t.teardown(() => w.close());
  t.true(await w.get(deadline(10_000, "the first probe")), "the member answers: alive");
  t.is(w.revision, 1, "the first probe's result is revision 1");
  t.true(await w.get(deadline(10_000, "the second probe")), "still alive at the next probe");
  t.is(w.revision, 2);
});

test("probes: every probe result wakes a waiting watcher, equal to the previous or not", async (t) => {
  const w = liveness(t, client(t), { interval: 200 }).watch();
  t.teardown(() => w.close());
  const revisions: number[] = [];
  const signal = deadline(15_000, "six probe results");
  for (let i = 0; i < 6; i++) {
    await w.get(signal);
    revisions.push(w.revision ?? 0);
  }
  t.deepEqual(revisions, [1, 2, 3, 4, 5, 6], "one new revision per probe, none skipped");
});

test("other requests: answered ones while alive add no revision (only probes do)", async (t) => {
  const etcd = client(t);
  // One probe at construction, the next in a minute: any new revision would be the requests'.
  const w = liveness(t, etcd, { interval: 60_000 }).watch();
  t.teardown(() => w.close());
  t.true(await w.get(deadline(10_000, "the first probe")));
  await Promise.all(Array.from({ length: 20 }, (_, i) => etcd.get(`/liveness/other/${i}`)));
  await t.throwsAsync(
    w.get({ backlogOnly: true }),
    { instanceOf: BacklogDoneError },
    "20 answered requests published nothing: no watcher woke",
  );
  t.is(w.revision, 1);
});

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
  "freeze: false within two probe results of the member being frozen; true again after thaw",
  async (t) => {
    const w = liveness(t, client(t), { interval: 300 }).watch();
    t.teardown(() => {
      member().thaw();
      w.close();
    });
    t.true(await w.get(deadline(10_000, "the first probe")));
    await drain(w);
    const frozenAt = performance.now();
    member().freeze();
    const results = await resultsUntil(w, false, 10_000, "false after the freeze");
    const falseAfter = performance.now() - frozenAt;
    t.true(results <= 2, `false at the latest at the second result after the freeze (${results})`);
    member().thaw();
    const thawedAt = performance.now();
    await resultsUntil(w, true, 15_000, "true after the thaw");
    t.log(
      `false ${Math.round(falseAfter)} ms after the freeze (result ${results}); true ${Math.round(performance.now() - thawedAt)} ms after the thaw (interval 300 ms)`,
    );
    await member().waitHealthy();
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

test("close: pending and later gets reject with WatcherClosedError; probing stops", async (t) => {
  const etcd = client(t);
  let probes = 0;
  const range = etcd.kv.range.bind(etcd.kv);
  etcd.kv.range = (...args) => {
    probes += 1;
    return range(...args);
  };
  const value = liveness(t, etcd, { interval: 200 });
  const w = value.watch();
  t.teardown(() => w.close());
  await w.get(deadline(10_000, "the first probe"));
  await drain(w);
  const pending = w.get();
  value.close();
  await t.throwsAsync(pending, { instanceOf: WatcherClosedError }, "the pending get");
  await t.throwsAsync(w.get(), { instanceOf: WatcherClosedError }, "a later get");
  await t.throwsAsync(value.watch().get(), { instanceOf: WatcherClosedError }, "a new watcher");
  t.notThrows(() => value.close(), "close() is idempotent");
  const probesAtClose = probes;

  // A clock made of events: another liveness with the same interval, three results.
  const clock = liveness(t, client(t), { interval: 200 }).watch();
  t.teardown(() => clock.close());
  const signal = deadline(10_000, "three results of another liveness");
  for (let i = 0; i < 3; i++) await clock.get(signal);
  t.is(probes, probesAtClose, "no probe after close(), over at least two intervals");
});

test("close: a for await loop over a watcher ends normally when the liveness closes", async (t) => {
  const value = liveness(t, client(t), { interval: 200 });
  let results = 0;
  const loop = (async () => {
    for await (const _ of value.watch()) {
      results += 1;
      if (results === 2) value.close();
    }
  })();
  await t.notThrowsAsync(loop, "the loop ends without an error");
  t.is(results, 2);
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
