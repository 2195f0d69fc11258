/**
 * EtcdLock on one real etcd member under faults the twin has no equivalent for: a
 * restart of the member while a contender waits, and a lock-key put applied whose
 * answer is lost (P9: a TCP proxy passes the request, holds the answer, then resets the
 * connection). Serial: each test disturbs the member or its link.
 */

import test from "ava";
import type { Etcd3 } from "etcd3";
import { codecs, EtcdLease, EtcdLock, EtcdValue, type LockHandle } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { keysUnder, spyGrants, untilKeys, within } from "../helpers/coordination.js";
import { recommendedClient } from "../helpers/faults.js";
import { isPending } from "../helpers/pending.js";

/** TTL of the tests' leases, in s: longer than any fault here, so no lease expires. */
const TTL = 30;

const cluster = withCluster(test, { members: 1, memberControl: true });
const member = () => cluster().members[0]!;
let direct: Etcd3 | undefined;
/** A client straight to the member, for checking what is stored and for other contenders. */
const etcd = (): Etcd3 => {
  direct ??= cluster().client();
  return direct;
};

/** A client of the library's recommended kind, through `proxy`; closed after the test. */
function clientThrough(t: { teardown(fn: () => void): void }, proxy: TcpProxy): Etcd3 {
  const client = recommendedClient([proxy.url]);
  t.teardown(() => client.close());
  return client;
}

test.serial(
  "acquire: a waiter keeps waiting through a restart of its member and gets the lock when the holder releases, exclusion kept",
  async (t) => {
    const prefix = "/lock-restart/";
    const holderClient = recommendedClient(cluster().endpoints);
    const waiterClient = recommendedClient(cluster().endpoints);
    t.teardown(() => {
      holderClient.close();
      waiterClient.close();
    });
    const data = "/lock-restart-data";
    const holderData = new EtcdValue(holderClient, data, { codec: codecs.text });
    const waiterData = new EtcdValue(waiterClient, data, { codec: codecs.text });
    const holder = await new EtcdLock(holderClient, "/lock-restart", { ttl: TTL }).acquire();
    const waiting = new EtcdLock(waiterClient, "/lock-restart", { ttl: TTL }).acquire();
    await untilKeys(etcd(), prefix, 2);

    await member().restart();
    await cluster().waitHealthy();
    t.like(
      await holderData.set("holder, after the restart", { guard: holder }),
      { ok: true },
      "the holder still holds",
    );
    t.false(holder.signal.aborted);
    t.true(await isPending(waiting), "the waiter waits while the holder holds");

    await holder.release();
    const next = await within(waiting, 10_000, "the waiter to hold");
    t.true(next.createRevision > holder.createRevision);
    t.like(await waiterData.set("waiter", { guard: next }), { ok: true });
    t.deepEqual(await holderData.set("late holder", { guard: holder }), {
      ok: false,
      reason: "guard",
    });
    await next.release();
    t.deepEqual(await keysUnder(etcd(), prefix), [], "no key left");
  },
);

/**
 * Calls `acquire` through `proxy` with the answer to its lock-key put lost: requests
 * pass, answers are held (`oneway`) until the key is in etcd (seen on the direct client),
 * then `whileHeld` runs and the held connection is reset. Returns the pending acquire
 * (wrapped: an async function would wait for it).
 */
async function acquireWithAnswerLost(
  proxy: TcpProxy,
  prefix: string,
  acquire: () => Promise<LockHandle>,
  whileHeld: () => void = () => {},
): Promise<{ acquiring: Promise<LockHandle> }> {
  proxy.setMode("oneway");
  const acquiring = acquire();
  acquiring.catch(() => {});
  try {
    await untilKeys(etcd(), prefix, 1);
    whileHeld();
  } finally {
    proxy.setMode("drop");
    proxy.setMode("pass");
  }
  return { acquiring };
}

test.serial(
  "P9: a lock-key put applied whose answer is lost ends in one holder with that key, excluding the others",
  async (t) => {
    const prefix = "/lock-p9-held/";
    const proxy = await TcpProxy.start(Number(new URL(member().clientUrl).port));
    t.teardown(() => proxy.close());
    const client = clientThrough(t, proxy);
    const lease = await EtcdLease.grant(client, { ttl: TTL }); // granted before the fault
    t.teardown(() => lease.revoke());
    const lock = new EtcdLock(client, "/lock-p9-held", { ttl: TTL });
    const { acquiring } = await acquireWithAnswerLost(proxy, prefix, () => lock.acquire({ lease }));
    const handle = await within(acquiring, 15_000, "the ambiguous acquire to settle");
    const stored = (await etcd().get(handle.key).exec()).kvs[0];
    t.is(
      Number(stored?.create_revision),
      handle.createRevision,
      "the handle has the key etcd holds",
    );
    t.deepEqual(
      await keysUnder(etcd(), prefix),
      [handle.key],
      "one key: the put's, never a second",
    );

    const other = new EtcdLock(etcd(), "/lock-p9-held", { ttl: TTL });
    t.is(await other.tryAcquire(), undefined, "held: another contender is refused");
    const waiting = other.acquire();
    await untilKeys(etcd(), prefix, 2);
    t.true(await isPending(waiting), "another contender waits");
    await handle.release();
    const next = await within(waiting, 10_000, "the next contender to hold");
    t.true(next.createRevision > handle.createRevision);
    await next.release();
    t.deepEqual(await keysUnder(etcd(), prefix), []);
  },
);

test.serial(
  "P9: an acquire aborted while its applied lock-key put's answer is lost, on the caller's lease, leaves no phantom key",
  async (t) => {
    const prefix = "/lock-p9-abort/";
    const proxy = await TcpProxy.start(Number(new URL(member().clientUrl).port));
    t.teardown(() => proxy.close());
    const client = clientThrough(t, proxy);
    const lease = await EtcdLease.grant(client, { ttl: TTL }); // outlives the test's bounds
    t.teardown(() => lease.revoke());
    const lock = new EtcdLock(client, "/lock-p9-abort", { ttl: TTL });
    const stop = new AbortController();
    const { acquiring } = await acquireWithAnswerLost(
      proxy,
      prefix,
      () => lock.acquire({ lease, signal: stop.signal }),
      () => stop.abort(new Error("gave up")),
    );
    await t.throwsAsync(within(acquiring, 15_000, "the aborted acquire to settle"), {
      message: "gave up",
    });
    t.deepEqual(await keysUnder(etcd(), prefix), [], "the key the put wrote is removed");
    const alive = await etcd().leaseClient.leaseTimeToLive({ ID: lease.id });
    t.true(Number(alive.TTL) > 0, "while the caller's lease lives on");
    const other = await new EtcdLock(etcd(), "/lock-p9-abort", { ttl: TTL }).tryAcquire();
    t.truthy(other, "the next contender takes the lock at once");
    await other?.release();
    const again = await lock.acquire({ lease });
    t.pass("the lease may take the lock again");
    await again.release();
  },
);

test.serial(
  "P9: an acquire aborted while its applied lock-key put's answer is lost, on a lease of its own, leaves no key and no lease",
  async (t) => {
    const prefix = "/lock-p9-own/";
    const proxy = await TcpProxy.start(Number(new URL(member().clientUrl).port));
    t.teardown(() => proxy.close());
    const client = clientThrough(t, proxy);
    const before = (await etcd().leaseClient.leaseLeases()).leases.length;
    const lock = new EtcdLock(client, "/lock-p9-own", { ttl: TTL });
    const grants = spyGrants(client);
    const stop = new AbortController();
    const acquiring = lock.acquire({ signal: stop.signal });
    acquiring.catch(() => {});
    await within(grants.answers[0] as Promise<unknown>, 15_000, "the grant's answer"); // answered: the put comes next; hold answers only from now on
    proxy.setMode("oneway");
    try {
      await untilKeys(etcd(), prefix, 1);
      stop.abort(new Error("gave up"));
    } finally {
      proxy.setMode("drop");
      proxy.setMode("pass");
    }
    await t.throwsAsync(within(acquiring, 15_000, "the aborted acquire to settle"), {
      message: "gave up",
    });
    t.deepEqual(await keysUnder(etcd(), prefix), [], "no key");
    t.is((await etcd().leaseClient.leaseLeases()).leases.length, before, "no lease");
  },
);
