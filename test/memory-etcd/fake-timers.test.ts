/**
 * Lease expiry runs on the process's timers, looked up at call time: fake timers
 * installed after the twin was made (here node:test's MockTimers, `setTimeout` and
 * `Date`) drive it, to the millisecond (twin-only: real etcd runs on its own clock).
 */

import { mock } from "node:test";
import test, { type ExecutionContext } from "ava";
import { MemoryEtcd } from "../../src/memory-etcd/index.js";

/**
 * A twin, then fake `setTimeout` and `Date` (both undone after the test), then a 5 s
 * lease granted with key `k` on it.
 */
async function leasedKey(t: ExecutionContext) {
  const twin = new MemoryEtcd();
  const client = twin.client();
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  t.teardown(() => {
    mock.timers.reset();
    twin.close();
  });
  const grant = await client.leaseClient.leaseGrant({ TTL: 5 });
  await client.kv.put({ key: Buffer.from("k"), value: Buffer.from("v"), lease: grant.ID });
  return { twin, client, grant };
}

test.serial(
  "fake timers: a lease expires exactly TTL after its last renewal, not before",
  async (t) => {
    const { client, grant } = await leasedKey(t);
    mock.timers.tick(2000);
    t.is((await client.leaseClient.leaseTimeToLive({ ID: grant.ID })).TTL, "3");
    const stream = await client.leaseClient.leaseKeepAlive();
    const renewed = new Promise((resolve) => stream.on("data", resolve));
    stream.write({ ID: grant.ID });
    await renewed;
    stream.end();
    stream.cancel();
    stream.on("error", () => {});
    mock.timers.tick(4999);
    t.is(
      (await client.get("k").string()) ?? null,
      "v",
      "4999 ms after the renewal the key is there",
    );
    mock.timers.tick(1);
    await new Promise((resolve) => setImmediate(resolve));
    t.is((await client.get("k").string()) ?? null, null, "5000 ms after it, the lease expired");
    t.is((await client.leaseClient.leaseTimeToLive({ ID: grant.ID })).TTL, "-1");
  },
);

test.serial(
  "fake timers: a lease that runs out during a freeze is not renewed by a held keepalive",
  async (t) => {
    const { twin, client, grant } = await leasedKey(t);
    const stream = await client.leaseClient.leaseKeepAlive();
    stream.on("error", () => {});
    t.teardown(() => stream.cancel());
    const answer = new Promise<{ TTL: string }>((resolve) => stream.on("data", resolve));
    twin.freeze();
    mock.timers.tick(5000);
    stream.write({ ID: grant.ID });
    twin.thaw();
    t.is((await answer).TTL, "0", "the keepalive arrived after the lease's time was up");
    t.is((await client.get("k").string()) ?? null, null, "and the lease was revoked");
  },
);
