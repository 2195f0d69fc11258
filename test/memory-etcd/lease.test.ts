/**
 * Leases on both backends (research test list L1–L8): minimum TTL, keepalive answers,
 * TimeToLive, revoke and expiry deleting keys in one revision, errors, large IDs.
 */

import test from "ava";
import {
  GRPCFailedPreconditionError,
  GRPCOutOfRangeError,
  type ILeaseKeepAliveResponse,
} from "etcd3";
import { withBackends } from "../harness/backends.js";
import { openRawWatch } from "./raw-watch.js";
import { keysOf, revisionOf } from "./test-keys.js";

withBackends(test, (test, backend) => {
  const b = (text: string): Buffer => Buffer.from(text, "latin1");

  test.serial("L1 a TTL below the minimum is raised to 2 s", async (t) => {
    const client = backend().client();
    const grant = await client.leaseClient.leaseGrant({ TTL: 1 });
    t.is(grant.TTL, "2");
    t.is(grant.error, "");
    await client.leaseClient.leaseRevoke({ ID: grant.ID });
  });

  test.serial(
    "L2 a keepalive answers the granted TTL, and TTL 0 for a revoked lease",
    async (t) => {
      const client = backend().client();
      const grant = await client.leaseClient.leaseGrant({ TTL: 60 });
      const stream = await client.leaseClient.leaseKeepAlive();
      t.teardown(() => {
        stream.end();
        stream.cancel();
      });
      const answers: ILeaseKeepAliveResponse[] = [];
      const waiters: (() => void)[] = [];
      stream.on("data", (response: ILeaseKeepAliveResponse) => {
        answers.push(response);
        waiters.shift()?.();
      });
      stream.on("error", () => {});
      const next = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));
      let answered = next();
      stream.write({ ID: grant.ID });
      await answered;
      t.like(answers[0], { ID: grant.ID, TTL: "60" });
      await client.leaseClient.leaseRevoke({ ID: grant.ID });
      answered = next();
      stream.write({ ID: grant.ID });
      await answered;
      t.like(answers[1], { ID: grant.ID, TTL: "0" });
    },
  );

  test.serial("L3 TimeToLive lists the keys; an unknown lease answers TTL -1", async (t) => {
    const client = backend().client();
    const k = keysOf(t);
    const grant = await client.leaseClient.leaseGrant({ TTL: 60 });
    await client.kv.put({ key: k("b"), lease: grant.ID });
    await client.kv.put({ key: k("a"), lease: grant.ID });
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: grant.ID, keys: true });
    t.is(ttl.grantedTTL, "60");
    t.true(Number(ttl.TTL) >= 58 && Number(ttl.TTL) <= 60, `remaining ${ttl.TTL}`);
    t.deepEqual(ttl.keys.map((key) => key.toString()).sort(), [
      k("a").toString(),
      k("b").toString(),
    ]);
    await client.leaseClient.leaseRevoke({ ID: grant.ID });
    const unknown = await client.leaseClient.leaseTimeToLive({ ID: grant.ID });
    t.like(unknown, { ID: grant.ID, TTL: "-1", grantedTTL: "0" });
    t.deepEqual(unknown.keys, []);
  });

  test.serial(
    "L4 revoking a lease with 3 keys deletes them in one revision, in key order, in one watch response",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const grant = await client.leaseClient.leaseGrant({ TTL: 60 });
      for (const name of ["c", "a", "b"]) await client.kv.put({ key: k(name), lease: grant.ID });
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k(""), range_end: k("\x7f"), prev_kv: true } });
      await watch.next();
      const before = await revisionOf(client);
      const revoked = await client.leaseClient.leaseRevoke({ ID: grant.ID });
      t.is(Number(revoked.header.revision), before + 1);
      const response = await watch.next();
      t.is(response.header.revision, String(before + 1));
      t.deepEqual(
        response.events.map((event) => [event.type, k.ofEvent(event), event.prev_kv?.lease]),
        [
          ["Delete", "a", grant.ID],
          ["Delete", "b", grant.ID],
          ["Delete", "c", grant.ID],
        ],
      );
      const unknown = await t.throwsAsync(client.leaseClient.leaseRevoke({ ID: grant.ID }));
      t.is(
        unknown?.message,
        "Lease 5 NOT_FOUND: etcdserver: requested lease not found is expired or revoked",
      );
    },
  );

  test.serial(
    "L5 L6 two leases expiring together delete their keys in one revision each",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const one = await client.leaseClient.leaseGrant({ TTL: 2 });
      const two = await client.leaseClient.leaseGrant({ TTL: 2 });
      await client.kv.put({ key: k("one-b"), lease: one.ID });
      await client.kv.put({ key: k("one-a"), lease: one.ID });
      await client.kv.put({ key: k("two"), lease: two.ID });
      const watch = await openRawWatch(client);
      t.teardown(() => watch.close());
      watch.write({ create_request: { key: k(""), range_end: k("\x7f"), prev_kv: true } });
      await watch.next();
      const before = await revisionOf(client);
      const responses = [await watch.next(), await watch.next()];
      const byLease = responses
        .map((response) => ({
          revision: Number(response.header.revision),
          lease: response.events[0]?.prev_kv?.lease,
          keys: response.events.map(k.ofEvent),
        }))
        .sort((x, y) => x.keys.length - y.keys.length);
      t.deepEqual(
        byLease.map((entry) => [entry.lease, entry.keys]),
        [
          [two.ID, ["two"]],
          [one.ID, ["one-a", "one-b"]],
        ],
      );
      t.deepEqual(
        responses.map((response) => Number(response.header.revision)),
        [before + 1, before + 2],
      );
      t.is((await client.leaseClient.leaseTimeToLive({ ID: one.ID })).TTL, "-1");
    },
  );

  test.serial(
    "L7 granting an existing ID or a TTL over 9e9 s fails with etcd's errors",
    async (t) => {
      const client = backend().client();
      const grant = await client.leaseClient.leaseGrant({ TTL: 60 });
      const exists = await t.throwsAsync(client.leaseClient.leaseGrant({ ID: grant.ID, TTL: 60 }), {
        instanceOf: GRPCFailedPreconditionError,
      });
      t.is(exists?.message, "9 FAILED_PRECONDITION: etcdserver: lease already exists");
      const large = await t.throwsAsync(client.leaseClient.leaseGrant({ TTL: 9_000_000_001 }), {
        instanceOf: GRPCOutOfRangeError,
      });
      t.is(large?.message, "11 OUT_OF_RANGE: etcdserver: too large lease TTL");
      const chosen = await client.leaseClient.leaseGrant({ ID: "4242", TTL: 60 });
      t.is(chosen.ID, "4242", "a client-chosen ID is kept");
      await client.leaseClient.leaseRevoke({ ID: grant.ID });
      await client.leaseClient.leaseRevoke({ ID: "4242" });
    },
  );

  test.serial(
    "L8 server-chosen lease IDs exceed 2^53 and round-trip as decimal strings",
    async (t) => {
      const client = backend().client();
      const k = keysOf(t);
      const grant = await client.leaseClient.leaseGrant({ TTL: 60 });
      t.true(BigInt(grant.ID) > 2n ** 53n, grant.ID);
      await client.kv.put({ key: k("a"), value: b("v"), lease: grant.ID });
      const [kv] = (await client.kv.range({ key: k("a") })).kvs;
      t.is(kv?.lease, grant.ID);
      const listed = await client.leaseClient.leaseLeases();
      t.true(listed.leases.some((lease) => lease.ID === grant.ID));
      await client.leaseClient.leaseRevoke({ ID: grant.ID });
    },
  );
});
