/**
 * EtcdLock under a store that stops answering (both backends: a SIGSTOPped member, the
 * twin's freeze): what an acquisition that gives up leaves behind.
 */

import test from "ava";
import type { Etcd3 } from "etcd3";
import { EtcdLock } from "../../src/index.js";
import { withBackends } from "../harness/backends.js";
import { pollUntil } from "../harness/poll.js";

/** TTL of the tests' leases, in s: longer than every bound below, so that etcd's own expiry never passes a test. */
const TTL = 30;

/** Every lease grant `client` sends from now on: the answers, as promises. */
function spyGrants(client: Etcd3): Promise<unknown>[] {
  const grants: Promise<unknown>[] = [];
  const leases = client.leaseClient;
  const grant = leases.leaseGrant.bind(leases);
  leases.leaseGrant = (...args: Parameters<typeof grant>) => {
    const answer = grant(...args);
    answer.catch(() => {});
    grants.push(answer);
    return answer;
  };
  return grants;
}

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
        t.is(grants.length, 1, "the grant was sent");
        stop.abort(new Error("gave up"));
        await t.throwsAsync(acquiring, { message: "gave up" });
        await backend().thaw();
        const granted = (await grants[0]) as { ID: string };
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
  },
  { faults: true },
);
