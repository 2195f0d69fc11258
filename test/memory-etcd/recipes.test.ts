/**
 * etcd3's own recipes on both backends (research test list C1–C3): `lock`, `election`,
 * `stm` run unchanged on the twin and end as on etcd.
 */

import test from "ava";
import { EtcdLockFailedError } from "etcd3";
import { withBackends } from "../harness/backends.js";
import { prefixOf } from "./test-keys.js";

withBackends(test, (test, backend) => {
  test.serial(
    "C1 a held lock makes a second acquire fail; release or lease loss frees it",
    async (t) => {
      const client = backend().client();
      const name = `${prefixOf(t)}lock`;
      const first = await client.lock(name).ttl(30).acquire();
      await t.throwsAsync(client.lock(name).acquire(), { instanceOf: EtcdLockFailedError });
      await first.release();
      const second = await client.lock(name).ttl(30).acquire();
      const leaseId = await second.leaseId();
      t.truthy(leaseId);
      await client.leaseClient.leaseRevoke({ ID: leaseId as string });
      const third = await client.lock(name).acquire();
      t.pass("acquired after the holder's lease was revoked");
      await third.release();
    },
  );

  test.serial(
    "C2 election: the first campaign leads; on resign the next one; an observer sees each leader",
    async (t) => {
      const client = backend().client();
      const election = client.election(`${prefixOf(t)}election`, 30);
      const observer = await election.observe();
      t.teardown(() => observer.cancel());
      /** Resolves once the observer's leader is `value` (now or by a later change). */
      const observed = (value: string): Promise<void> =>
        new Promise((resolve) => {
          if (observer.leader() === value) resolve();
          observer.on("change", (leader) => leader === value && resolve());
        });
      const first = await election.campaign("a").wait();
      await observed("a");
      const leaders: (string | undefined)[] = [observer.leader()];
      observer.on("change", (value) => leaders.push(value));
      const secondElected = new Promise<void>((resolve) => {
        const second = client.election(`${prefixOf(t)}election`, 30).campaign("b");
        second.on("elected", resolve);
        t.teardown(() => second.resign());
      });
      t.is(await election.leader(), "a");
      const bTurn = observed("b");
      await first.resign();
      await secondElected;
      await bTurn;
      t.is(await election.leader(), "b");
      t.deepEqual(
        leaders.filter((value, i) => value !== leaders[i - 1]),
        ["a", "b"],
      );
    },
  );

  test.serial("C3 concurrent STM increments retry on conflict and lose no update", async (t) => {
    const client = backend().client();
    const key = `${prefixOf(t)}counter`;
    await client.put(key).value("0").exec();
    let attempts = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        client.stm({ retries: 20 }).transact(async (tx) => {
          attempts++;
          const value = Number(await tx.get(key).string());
          await tx.put(key).value(String(value + 1));
        }),
      ),
    );
    t.is(await client.get(key).string(), "5");
    t.true(attempts > 5, `conflicting transactions retried (${attempts} attempts)`);
  });
});
