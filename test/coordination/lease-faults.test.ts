/**
 * EtcdLease.grant under a store that stops answering (both backends: a SIGSTOPped member,
 * the twin's freeze): a grant attempt given up on by the soft timeout and sent again may
 * be granted too, at the thaw; that lease is nobody's.
 */

import test from "ava";
import { EtcdLease } from "../../src/index.js";
import { withBackends } from "../harness/backends.js";
import { pollUntil } from "../harness/poll.js";
import { spyGrants, within } from "../helpers/coordination.js";

/** TTL of the test's lease, in s: longer than the bound below, so etcd's expiry never passes it. */
const TTL = 30;

withBackends(
  test,
  (test, backend) => {
    test.serial(
      "grant: a lease granted to an attempt given up on (frozen store, answered at the thaw) is revoked; only the granted one lives",
      async (t) => {
        const client = backend().client();
        const observer = backend().client();
        await client.get("/lease-faults/warm-up").exec(); // connected before the freeze
        const grants = spyGrants(client);
        await backend().freeze();
        t.teardown(() => backend().thaw());
        const granting = EtcdLease.grant(client, { ttl: TTL });
        await within(grants.sentAt(2), 15_000, "a second attempt"); // the first attempt given up on (soft timeout), a second sent
        await backend().thaw();
        const lease = await within(granting, 15_000, "the grant to settle");
        t.teardown(() => lease.revoke());
        const answers = (await Promise.allSettled(grants.answers)).flatMap((answer) =>
          answer.status === "fulfilled" ? [String((answer.value as { ID: string }).ID)] : [],
        );
        t.true(answers.length >= 2, "both attempts were granted a lease at the thaw");
        await pollUntil(
          async () => {
            const listed = (await observer.leaseClient.leaseLeases()).leases.map((l) =>
              String(l.ID),
            );
            const extra = listed.filter((id) => answers.includes(id) && id !== lease.id);
            return extra.length === 0
              ? { done: true, value: undefined }
              : { done: false, why: `leases ${extra.join(", ")} still listed` };
          },
          { what: "the extra leases revoked", timeoutMs: 5000 },
        );
        t.is(lease.state, "alive", "the lease granted to the caller lives on");
      },
    );
  },
  { faults: true },
);
