/**
 * EtcdLease against a real etcd member: granted TTL, keepalives, revoke, expiry seen
 * before etcd deletes the keys (keepalives black-holed by a proxy), `suspect` first, and
 * a process paused longer than the TTL.
 */

import test from "ava";
import { EtcdLease, EtcdValue, type LeaseState, LostError } from "../../src/index.js";
import { lazyClient, withCluster } from "../harness/ava.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { deadline } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);
const etcd = lazyClient(cluster);

test("grant: reports the TTL etcd granted, raised to etcd's minimum", async (t) => {
  const small = await EtcdLease.grant(etcd(), { ttl: 1 });
  t.teardown(() => small.revoke());
  t.true(small.ttl >= 2, `etcd raises a 1 s TTL to its minimum (granted ${small.ttl} s)`);
  const five = await EtcdLease.grant(etcd(), { ttl: 5 });
  t.teardown(() => five.revoke());
  t.is(five.ttl, 5, "a 5 s TTL is granted as asked");
  t.regex(five.id, /^\d+$/, "the ID is decimal");
});

test("grant: rejects a TTL that is not a whole number of seconds with a TypeError", async (t) => {
  await t.throwsAsync(EtcdLease.grant(etcd(), { ttl: 0 }), { instanceOf: TypeError });
  await t.throwsAsync(EtcdLease.grant(etcd(), { ttl: 1.5 }), { instanceOf: TypeError });
});

test("keepalive: the lease stays alive, and its key present, for several TTLs", async (t) => {
  const lease = await EtcdLease.grant(etcd(), { ttl: 2 });
  t.teardown(() => lease.revoke());
  await etcd().put("/lease/kept").value("x").lease(lease.id).exec();
  const states = lease.watch();
  t.teardown(() => states.close());
  t.is(await states.get(), "alive");
  // Nothing changes for three TTLs: the wait ends by its own timeout, not a new state.
  const quiet = AbortSignal.timeout(3 * lease.ttl * 1000);
  const next = states.get({ signal: quiet, filter: (s) => s !== "alive" && s !== "suspect" });
  const outcome = await next.then(String, (error: unknown) => (error as Error).name);
  t.is(outcome, "TimeoutError", "no lost state within three TTLs");
  t.false(lease.signal.aborted);
  t.is(await etcd().get("/lease/kept").string(), "x", "the lease's key is still there");
});

test("revoke: deletes the lease's keys and aborts signal with LostError('revoked')", async (t) => {
  const lease = await EtcdLease.grant(etcd(), { ttl: 5 });
  await etcd().put("/lease/revoked").value("x").lease(lease.id).exec();
  const { signal } = lease;
  const first = lease.revoke();
  t.true(signal.aborted, "signal aborts at once");
  t.true(signal.reason instanceof LostError);
  t.is((signal.reason as LostError).reason, "revoked");
  await first;
  await lease.revoke(); // idempotent
  t.is(await etcd().get("/lease/revoked").string(), null, "etcd deleted the key");
  const w = lease.watch();
  t.is(await w.get(), "revoked");
  w.close();
});

test("lost: a lease revoked by another client goes lost (expired) at the next keepalive", async (t) => {
  const lease = await EtcdLease.grant(etcd(), { ttl: 2 });
  t.teardown(() => lease.revoke());
  await etcd().leaseClient.leaseRevoke({ ID: lease.id });
  const states = lease.watch();
  t.teardown(() => states.close());
  const signal = deadline(5000, "the lease to be lost");
  t.is(await states.get({ signal, filter: (s) => s === "lost" }), "lost");
  t.is((lease.signal.reason as LostError).reason, "expired");
});

test.serial(
  "lost: keepalives black-holed: suspect first, then lost before etcd deletes the key",
  async (t) => {
    const proxy = await TcpProxy.start(Number(new URL(cluster().endpoints[0] as string).port));
    t.teardown(() => proxy.close());
    const behind = cluster().client({ hosts: [proxy.url] });
    const lease = await EtcdLease.grant(behind, { ttl: 5 }); // suspect at ~2.5 s, lost at ~4 s
    t.teardown(() => lease.revoke());
    await etcd().put("/lease/blocked").value("x").lease(lease.id).exec();
    const key = new EtcdValue(etcd(), "/lease/blocked");
    const keyWatch = key.watch();
    t.teardown(() => keyWatch.close());
    t.truthy(await keyWatch.get());
    const states = lease.watch();
    t.teardown(() => states.close());
    t.is(await states.get(), "alive");

    let abortedAt: number | undefined;
    lease.signal.addEventListener("abort", () => {
      abortedAt = performance.now();
    });
    const trail: LeaseState[] = [];
    const stateLoop = (async () => {
      for await (const state of states) {
        trail.push(state);
        if (state === "lost") return;
      }
    })();
    proxy.setMode("blackhole");
    const gone = await keyWatch.get({
      signal: deadline(15_000, "etcd to delete the key"),
      filter: (v) => v === undefined,
    });
    const deletedAt = performance.now();
    t.is(gone, undefined);
    await stateLoop;
    t.deepEqual(trail, ["suspect", "lost"], "suspect, then lost");
    t.not(abortedAt, undefined, "signal aborted");
    t.true(
      (abortedAt as number) <= deletedAt,
      `signal aborted ${(deletedAt - (abortedAt as number)).toFixed(0)} ms before the delete was seen`,
    );
    t.is((lease.signal.reason as LostError).reason, "expired");
    proxy.setMode("pass");
  },
);

test.serial(
  "lost: a process paused longer than the TTL finds the lease lost when it wakes",
  async (t) => {
    const lease = await EtcdLease.grant(etcd(), { ttl: 2 });
    t.teardown(() => lease.revoke());
    t.is(lease.state, "alive");
    const until = performance.now() + lease.ttl * 1000 + 200;
    while (performance.now() < until) {
      // a busy loop: no timer, no keepalive runs
    }
    t.true(lease.signal.aborted, "the first look at the lease after the pause says lost");
    t.is((lease.signal.reason as LostError).reason, "expired");
    const w = lease.watch();
    t.is(await w.get(), "lost");
    w.close();
  },
);
