/**
 * EtcdLock on both backends: etcd's key layout, mutual exclusion over a shared history,
 * first come first served, tryAcquire leaving no key, abort removing the waiter's key,
 * loss by lease or deletion, fenced release, lease reuse rules, compaction while waiting.
 */

import test from "ava";
import { codecs, EtcdLease, EtcdLock, EtcdValue, LostError } from "../../src/index.js";
import { withBackends } from "../harness/backends.js";
import { keysUnder, untilKeys } from "../helpers/coordination.js";
import { isPending } from "../helpers/pending.js";

/**
 * Acquisitions per contender in the exclusion test: the 50 (9–12 s per
 * backend on 2 busy cores; `LOCK_ROUNDS=10` for a quick run).
 */
const ROUNDS = Number(process.env.LOCK_ROUNDS ?? 50);

/** TTL of the tests' leases, in s: see election.test.ts. */
const TTL = 30;

withBackends(test, (test, backend) => {
  test("acquire: the key is name/<lease ID in hex> under the handle's lease", async (t) => {
    const client = backend().client();
    const lock = new EtcdLock(client, "/lock/layout", { ttl: TTL });
    const handle = await lock.acquire();
    t.is(handle.key, `/lock/layout/${BigInt(handle.lease.id).toString(16)}`);
    const stored = await client.get(handle.key).exec();
    t.is(
      Number(stored.kvs[0]?.create_revision),
      handle.createRevision,
      "createRevision is the key's",
    );
    t.is(stored.kvs[0]?.lease, handle.lease.id, "the key lives under the handle's lease");
    t.is(stored.kvs[0]?.value.length, 0, "empty value, as etcdctl lock writes");
    await handle.release();
    t.deepEqual(await keysUnder(client, "/lock/layout/"), [], "release removes the key");
    t.is(handle.lease.state, "revoked", "release revokes the lease the acquisition granted");
    t.is((handle.signal.reason as LostError).reason, "released");
  });

  test(`mutual exclusion: 5 contenders × ${ROUNDS} acquisitions on separate clients never overlap, tokens increase`, async (t) => {
    const counterKey = "/lock/exclusion-counter";
    const tokens: number[] = [];
    const contender = async (): Promise<void> => {
      const client = backend().client();
      const lock = new EtcdLock(client, "/lock/exclusion", { ttl: TTL });
      for (let i = 0; i < ROUNDS; i++) {
        const handle = await lock.acquire();
        try {
          // Read-modify-write of a shared counter, conditional on nothing else having
          // written it since the read: fails if another holder overlaps.
          const read = await client.get(counterKey).exec();
          const kv = read.kvs[0];
          const count = kv === undefined ? 0 : Number(kv.value.toString());
          const write = await client
            .if(counterKey, "Mod", "==", kv === undefined ? 0 : Number(kv.mod_revision))
            .then(client.put(counterKey).value(String(count + 1)))
            .commit();
          t.true(write.succeeded, "no other holder wrote the counter while this one held the lock");
          tokens[count] = handle.createRevision;
        } finally {
          await handle.release();
        }
      }
    };
    await Promise.all(Array.from({ length: 5 }, contender));
    const total = await backend().client().get(counterKey).string();
    t.is(Number(total), 5 * ROUNDS, "every acquisition incremented the counter once");
    for (let i = 1; i < tokens.length; i++) {
      t.true(
        (tokens[i] as number) > (tokens[i - 1] as number),
        `token ${i} greater than token ${i - 1}`,
      );
    }
  });

  test("acquire: first come, first served by create revision", async (t) => {
    const client = backend().client();
    const lock = new EtcdLock(client, "/lock/fifo", { ttl: TTL });
    const holder = await lock.acquire();
    const order: string[] = [];
    const waiters: Promise<void>[] = [];
    for (const name of ["a", "b", "c"]) {
      const waiting = lock.acquire().then(async (handle) => {
        order.push(name);
        await handle.release();
      });
      waiters.push(waiting);
      await untilKeys(client, "/lock/fifo/", waiters.length + 1); // queued before the next
    }
    await holder.release();
    await Promise.all(waiters);
    t.deepEqual(order, ["a", "b", "c"]);
  });

  test("tryAcquire: resolves undefined at once when held, leaving no key of its own", async (t) => {
    const client = backend().client();
    const lock = new EtcdLock(client, "/lock/try", { ttl: TTL });
    const holder = await lock.tryAcquire();
    t.truthy(holder, "free: taken");
    const keys = await keysUnder(client, "/lock/try/");
    t.is(await lock.tryAcquire(), undefined, "held: undefined");
    t.deepEqual(await keysUnder(client, "/lock/try/"), keys, "only the holder's key is left");
    await holder?.release();
  });

  test("acquire: aborting a waiter removes its key and lets the next waiter in", async (t) => {
    const client = backend().client();
    const lock = new EtcdLock(client, "/lock/abort", { ttl: TTL });
    const holder = await lock.acquire();
    const stop = new AbortController();
    const first = lock.acquire({ signal: stop.signal });
    await untilKeys(client, "/lock/abort/", 2);
    const second = lock.acquire();
    await untilKeys(client, "/lock/abort/", 3);
    stop.abort(new Error("gave up"));
    await t.throwsAsync(first, { message: "gave up" }, "rejects with the signal's reason");
    await untilKeys(client, "/lock/abort/", 2);
    t.true(await isPending(second), "the second waits for the holder");
    await holder.release();
    const next = await second;
    t.pass("the second waiter got the lock");
    await next.release();
  });

  test("acquire: a waiter whose key is deleted stops waiting with LostError and never holds", async (t) => {
    const client = backend().client();
    const lock = new EtcdLock(client, "/lock/waiter-deleted", { ttl: TTL });
    const holder = await lock.acquire();
    const waiting = lock.acquire();
    await untilKeys(client, "/lock/waiter-deleted/", 2);
    const [, waiterKey] = await keysUnder(client, "/lock/waiter-deleted/");
    await client
      .delete()
      .key(waiterKey as string)
      .exec();
    const error = await t.throwsAsync(waiting, { instanceOf: LostError });
    t.is(error?.reason, "deleted");
    await holder.release();
    t.deepEqual(await keysUnder(client, "/lock/waiter-deleted/"), [], "no phantom holder");
  });

  test("loss: a holder whose lease ends sees signal abort with LostError", async (t) => {
    const client = backend().client();
    const handle = await new EtcdLock(client, "/lock/lease-lost", { ttl: TTL }).acquire();
    const aborted = new Promise((resolve) => handle.signal.addEventListener("abort", resolve));
    await backend().expireLease(handle.lease.id);
    await aborted;
    t.true(handle.signal.reason instanceof LostError);
    t.true(["expired", "deleted"].includes((handle.signal.reason as LostError).reason));
    await handle.release();
  });

  test("loss: a holder whose key is deleted by someone else sees signal abort with reason deleted", async (t) => {
    const client = backend().client();
    const handle = await new EtcdLock(client, "/lock/deleted", { ttl: TTL }).acquire();
    const aborted = new Promise((resolve) => handle.signal.addEventListener("abort", resolve));
    await client.delete().key(handle.key).exec();
    await aborted;
    t.is((handle.signal.reason as LostError).reason, "deleted");
    await handle.release();
  });

  test("guard: a write guarded by the handle applies while held, fails with reason guard once lost", async (t) => {
    const client = backend().client();
    const value = new EtcdValue(client, "/lock/guarded-data", { codec: codecs.text });
    const handle = await new EtcdLock(client, "/lock/guarded", { ttl: TTL }).acquire();
    t.like(await value.set("while held", { guard: handle }), { ok: true });
    const aborted = new Promise((resolve) => handle.signal.addEventListener("abort", resolve));
    await backend().expireLease(handle.lease.id);
    await aborted;
    t.deepEqual(await value.set("after loss", { guard: handle }), { ok: false, reason: "guard" });
    t.is(
      await client.get("/lock/guarded-data").string(),
      "while held",
      "nothing written after the loss",
    );
    await handle.release();
  });

  test("release: a handle that lost the lock deletes nothing of the next holder's, same lease", async (t) => {
    const client = backend().client();
    const lease = await EtcdLease.grant(client, { ttl: TTL });
    t.teardown(() => lease.revoke());
    const lock = new EtcdLock(client, "/lock/fenced", { ttl: TTL });
    const old = await lock.acquire({ lease });
    const aborted = new Promise((resolve) => old.signal.addEventListener("abort", resolve));
    await client.delete().key(old.key).exec();
    await aborted;
    const next = await lock.acquire({ lease }); // the lost handle no longer counts
    t.is(next.key, old.key, "same lease: same key name");
    t.true(next.createRevision > old.createRevision);
    await old.release();
    const stored = await client.get(next.key).exec();
    t.is(
      Number(stored.kvs[0]?.create_revision),
      next.createRevision,
      "the next holder's key is still there",
    );
    t.false(next.signal.aborted);
    t.is(lease.state, "alive", "release leaves a lease it did not grant alive");
    await next.release();
  });

  test("acquire: a lease that already holds the same lock is refused with a TypeError", async (t) => {
    const client = backend().client();
    const lease = await EtcdLease.grant(client, { ttl: TTL });
    t.teardown(() => lease.revoke());
    const lock = new EtcdLock(client, "/lock/reuse", { ttl: TTL });
    const handle = await lock.acquire({ lease });
    await t.throwsAsync(lock.acquire({ lease }), { instanceOf: TypeError });
    await t.throwsAsync(new EtcdLock(client, "/lock/reuse", { ttl: TTL }).tryAcquire({ lease }), {
      instanceOf: TypeError,
    });
    const other = await new EtcdLock(client, "/lock/reuse-other", { ttl: TTL }).acquire({ lease });
    t.pass("the same lease may hold another lock");
    await other.release();
    await handle.release();
    const again = await lock.acquire({ lease });
    t.pass("after release the lease may take the lock again");
    await again.release();
  });

  test.serial("acquire: waiting survives compaction", async (t) => {
    const client = backend().client();
    const lock = new EtcdLock(client, "/lock/compact", { ttl: TTL });
    const holder = await lock.acquire();
    const waiting = lock.acquire();
    await untilKeys(client, "/lock/compact/", 2);
    for (let i = 0; i < 5; i++) await client.put("/lock/compact-noise").value(String(i));
    await holder.release();
    await backend().compact();
    const handle = await waiting;
    t.pass("the waiter got the lock after its predecessor's delete was compacted");
    await handle.release();
  });
});
