/**
 * EtcdLock under a store that stops answering (both backends: a SIGSTOPped member, the
 * twin's freeze): what an acquisition that gives up leaves behind, and a lock-key put
 * whose outcome is unknown (P9: its attempt given up on by the soft timeout, sent again,
 * and both answered at the thaw).
 */

import test from "ava";
import type { Etcd3 } from "etcd3";
import { EtcdLease, EtcdLock } from "../../src/index.js";
import { withBackends } from "../harness/backends.js";
import { pollUntil } from "../harness/poll.js";
import { keysUnder, spyGrants, spyTxns, within } from "../helpers/coordination.js";

/** TTL of the tests' leases, in s: longer than every bound below, so that etcd's own expiry never passes a test. */
const TTL = 30;

/** etcd's lease IDs now. */
async function leaseIds(client: Etcd3): Promise<string[]> {
  return (await client.leaseClient.leaseLeases()).leases.map((lease) => String(lease.ID));
}

withBackends(
  test,
  (test, backend) => {
    test.serial(
      "acquire: aborted while its lease grant is unanswered, the lease granted later is revoked, not kept alive",
      async (t) => {
        const client = backend().client();
        const observer = backend().client();
        await client.get("/lock-faults/warm-up").exec(); // connected before the freeze
        const grants = spyGrants(client);
        await backend().freeze();
        t.teardown(() => backend().thaw());
        const stop = new AbortController();
        const lock = new EtcdLock(client, "/lock-faults/grant", { ttl: TTL });
        const acquiring = lock.acquire({ signal: stop.signal });
        t.is(grants.answers.length, 1, "the grant was sent");
        stop.abort(new Error("gave up"));
        await t.throwsAsync(within(acquiring, 15_000, "the acquire to settle"), {
          message: "gave up",
        });
        await backend().thaw();
        const granted = (await within(
          grants.answers[0] as Promise<unknown>,
          15_000,
          "the grant's answer",
        )) as { ID: string };
        t.truthy(granted.ID, "etcd granted the lease after the thaw");
        await pollUntil(
          async () => {
            const ids = await leaseIds(observer);
            return ids.includes(String(granted.ID))
              ? { done: false, why: `lease ${granted.ID} still listed` }
              : { done: true, value: undefined };
          },
          { what: "the late lease revoked", timeoutMs: 5000 },
        );
        t.pass("the lease is gone well before its TTL");
      },
    );

    test.serial(
      "P9: a lock-key put sent again after its first attempt timed out (frozen store) ends in one holder with one key",
      async (t) => {
        const prefix = "/lock-faults/p9-held/";
        const client = backend().client();
        const lease = await EtcdLease.grant(client, { ttl: TTL }); // granted before the freeze
        t.teardown(() => lease.revoke());
        const txns = spyTxns(client);
        await backend().freeze();
        t.teardown(() => backend().thaw());
        const acquiring = new EtcdLock(client, "/lock-faults/p9-held", { ttl: TTL }).acquire({
          lease,
        });
        await within(txns.sentAt(2), 15_000, "a second attempt"); // the first attempt given up on (soft timeout), a second sent
        await backend().thaw();
        const handle = await within(acquiring, 15_000, "the acquire to settle");
        const observer = backend().client();
        const stored = (await observer.get(handle.key).exec()).kvs[0];
        t.is(Number(stored?.create_revision), handle.createRevision, "the handle has etcd's key");
        t.deepEqual(await keysUnder(observer, prefix), [handle.key], "one key, never a second");
        const other = new EtcdLock(observer, "/lock-faults/p9-held", { ttl: TTL });
        t.is(await other.tryAcquire(), undefined, "held: another contender is refused");
        await handle.release();
        const next = await other.tryAcquire();
        t.truthy(next, "released: the next contender takes it");
        await next?.release();
      },
    );

    test.serial(
      "P9: an acquire on the caller's lease aborted while its lock-key put's outcome is unknown (frozen store) leaves no phantom key after the thaw",
      async (t) => {
        const prefix = "/lock-faults/p9-abort/";
        const client = backend().client();
        const lease = await EtcdLease.grant(client, { ttl: TTL }); // outlives the test
        t.teardown(() => lease.revoke());
        const txns = spyTxns(client);
        await backend().freeze();
        t.teardown(() => backend().thaw());
        const stop = new AbortController();
        const lock = new EtcdLock(client, "/lock-faults/p9-abort", { ttl: TTL });
        const acquiring = lock.acquire({ lease, signal: stop.signal });
        acquiring.catch(() => {});
        await within(txns.sentAt(2), 15_000, "a second attempt"); // the first attempt given up on (soft timeout), a second sent
        stop.abort(new Error("gave up"));
        await backend().thaw(); // the held puts are applied now
        await t.throwsAsync(within(acquiring, 15_000, "the acquire to settle"), {
          message: "gave up",
        });
        const observer = backend().client();
        t.deepEqual(await keysUnder(observer, prefix), [], "the key the held put wrote is removed");
        t.is(lease.state, "alive", "while the caller's lease lives on");
        const other = await new EtcdLock(observer, "/lock-faults/p9-abort", {
          ttl: TTL,
        }).tryAcquire();
        t.truthy(other, "the next contender takes the lock at once");
        await other?.release();
      },
    );
  },
  { faults: true },
);
