/**
 * `status()` publishes news only: a new status when the state changes or the kind of
 * error changes, never one per retry attempt, and `since` is when the state began, so a
 * controller alerting on "not live for more than N seconds" (`Date.now() - since`) fires.
 */

import test from "ava";
import type { Etcd3 } from "etcd3";
import { BacklogDoneError, EtcdValue, MemoryValue, type WatchStatus } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { pickFreePorts } from "../harness/ports.js";
import { deadline, recommendedClient } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";

const cluster = withCluster(test, { members: 1, memberControl: true });
checkLeaks(test, cluster);

/** Retry options that count failed attempts into `attempts`, retrying at once. */
function counting(attempts: MemoryValue<number>) {
  return {
    startingDelay: 10,
    maxDelay: 50,
    retry: (_error: unknown, attempt: number) => {
      attempts.set(attempt);
      return true;
    },
  };
}

async function attemptsReach(attempts: MemoryValue<number>, n: number, what: string) {
  const w = attempts.watch();
  try {
    await w.get({ filter: (count) => count >= n, signal: deadline(20_000, what) });
  } finally {
    w.close();
  }
}

test.serial(
  "status: etcd down from the start: connecting with the error, published once, since unchanged over retries",
  async (t) => {
    const [deadPort] = await pickFreePorts(1);
    const client = recommendedClient([`http://127.0.0.1:${deadPort}`]);
    t.teardown(() => client.close());
    const attempts = new MemoryValue(0);
    const value = new EtcdValue(client as Etcd3, "/status/down", { backoff: counting(attempts) });
    const status = value.status().watch();
    const w = value.watch();
    t.teardown(() => {
      w.close();
      status.close();
    });
    void w.get().catch(() => {});
    const failing = await status.get({
      filter: (s) => s.error !== undefined,
      signal: deadline(20_000, "the first failed attempt"),
    });
    t.is(failing.state, "connecting", "never live yet: connecting, with the error");
    const published = status.revision;
    const start = attempts.current ?? 0;
    await attemptsReach(attempts, start + 4, "four more attempts");
    const next = status.get({ backlogOnly: true });
    await t.throwsAsync(
      next,
      { instanceOf: BacklogDoneError },
      `no new status for retries that fail the same way (was ${published}, now ${status.revision})`,
    );
  },
);

test.serial(
  "status: during an outage, stale is published once and since stays when it began",
  async (t) => {
    const client = recommendedClient(cluster().endpoints);
    t.teardown(() => client.close());
    const attempts = new MemoryValue(0);
    const value = new EtcdValue(client, "/status/outage", { backoff: counting(attempts) });
    const status = value.status().watch();
    const w = value.watch();
    t.teardown(() => {
      w.close();
      status.close();
    });
    await w.get();
    await status.get({ filter: (s) => s.state === "live", signal: deadline(10_000, "live") });
    await cluster().members[0]!.kill();
    const stale: WatchStatus = await status.get({
      filter: (s) => s.state === "stale",
      signal: deadline(10_000, "stale"),
    });
    const start = attempts.current ?? 0;
    await attemptsReach(attempts, start + 3, "three more attempts during the outage");
    const seen: WatchStatus[] = [];
    for (;;) {
      try {
        seen.push(await status.get({ backlogOnly: true }));
      } catch (error) {
        if (error instanceof BacklogDoneError) break;
        throw error;
      }
    }
    t.true(
      seen.every((s) => s.state === "stale" && s.since === stale.since),
      `still stale since the outage began: ${JSON.stringify(seen.map((s) => [s.state, s.since - stale.since]))}`,
    );
    t.true(seen.length <= 1, `at most one more status (another kind of error): ${seen.length}`);
    await cluster().members[0]!.restart();
    const live = await status.get({
      filter: (s) => s.state === "live",
      signal: deadline(20_000, "live after the restart"),
    });
    t.true(live.since >= stale.since, "live again: a new state, a new since");
  },
);
