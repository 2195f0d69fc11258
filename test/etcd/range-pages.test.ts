/**
 * Paging a range whose values are large (issue 13, first livelock): 300 keys of 20 KiB,
 * 5.9 MiB, on a plain `new Etcd3({ hosts })` (4 MiB receive limit, etcd3's own retries
 * and circuit breakers). Halving a too-large page through the client counted three
 * failures against the member's breaker, which opened, failed the next page and every
 * call of the user's on that member, forever. The library must find its page size
 * without counting anything against the user's client, for the first read and for the
 * resync after a compaction alike.
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { setTimeout as delay } from "node:timers/promises";
import test, { type ExecutionContext } from "ava";
import type { Etcd3 } from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  ETCD_WATCH_CHANNEL,
  EtcdRangeValue,
  type EtcdWatchMessage,
  type RangeSnapshot,
} from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { deadline, StatusLog } from "../helpers/faults.js";
import { keyOf, writeLargeRange } from "../helpers/large-range.js";
import { checkLeaks } from "../helpers/leaks.js";
import { watcher } from "../helpers/watcher.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);

const KIB = 1024;
const COUNT = Number(process.env.RANGE_PAGES_COUNT ?? 300);
const VALUE_BYTES = 20 * KIB;
/** Puts per transaction: 32 × 20 KiB stays under etcd's 1.5 MiB request limit. */
const PER_TXN = 32;

/** Writes COUNT keys of VALUE_BYTES under `prefix`. */
function writeRange(client: Etcd3, prefix: string): Promise<void> {
  return writeLargeRange(client, prefix, {
    count: COUNT,
    valueBytes: VALUE_BYTES,
    perTxn: PER_TXN,
  });
}

/**
 * The user's own calls on `client` (a small `get` every 100 ms, as in the issue's
 * measurement) until `stop()`: resolves with how many were made and the names of the
 * errors of those that failed. Not more often: a success between two failures resets
 * etcd3's consecutive-failure breaker, and would hide the problem.
 */
function userCalls(client: Etcd3): { stop: () => Promise<{ calls: number; failures: string[] }> } {
  let running = true;
  let calls = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      calls += 1;
      try {
        await client.get("/user/own-key").string();
      } catch (error) {
        failures.push((error as Error).name || String(error));
      }
      await delay(100); // pacing, not waiting for anything: a user's steady trickle
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { calls, failures };
    },
  };
}

/** Keys of every whole-range read of `target`, from the diagnostics channel. */
function recordReads(t: ExecutionContext, target: string): number[] {
  const keys: number[] = [];
  const listener = (message: unknown): void => {
    const event = message as EtcdWatchMessage;
    if (event.type === "read" && event.target === target) keys.push(event.keys);
  };
  subscribe(ETCD_WATCH_CHANNEL, listener);
  t.teardown(() => unsubscribe(ETCD_WATCH_CHANNEL, listener));
  return keys;
}

function sizeOf(snapshot: RangeSnapshot<Uint8Array>): number {
  let bytes = 0;
  for (const [key, value] of snapshot.entries) bytes += key.length + value.length;
  return bytes;
}

test.serial(
  "paging: a 5.9 MiB range loads on a plain client, and the user's calls on it keep succeeding",
  async (t) => {
    const client = cluster().client(); // new Etcd3({ hosts }): etcd3's defaults throughout
    const prefix = "/pages/first/";
    await writeRange(client, prefix);
    const value = new EtcdRangeValue(client, { prefix });
    const status = new StatusLog(value);
    t.teardown(() => status.close());
    const user = userCalls(client);
    let snapshot: RangeSnapshot<Uint8Array>;
    try {
      snapshot = await watcher(t, value.snapshots()).get({
        signal: deadline(20_000, "the 5.9 MiB range to load"),
      });
    } finally {
      const { calls, failures } = await user.stop();
      t.deepEqual(failures, [], `every one of the user's ${calls} calls succeeded meanwhile`);
    }
    t.is(snapshot.entries.size, COUNT, "every key loaded");
    t.true(sizeOf(snapshot) > 4 * 1024 * KIB, "the range exceeds one 4 MiB message");
    t.is(snapshot.entries.get(keyOf(prefix, 7))?.[0], 7, "values intact");
    const errors = status.states.map((s) => (s.error as Error | undefined)?.name).filter(Boolean);
    t.deepEqual(errors, [], `no error along the way (${status.trail})`);
  },
);

test.serial(
  "paging: the resync after a compaction reads the same way, and the user's calls keep succeeding",
  async (t) => {
    const client = cluster().client();
    const prefix = "/pages/resync/";
    await writeRange(client, prefix);
    const changed = keyOf(prefix, COUNT - 1);
    let compacted = false;
    const value = new EtcdRangeValue(
      client,
      { prefix },
      withInternal(
        {},
        {
          hooks: {
            // Between the first read at R and the watch from R+1: a change, then a
            // compaction past it, so the watch cannot resume and the range is read again.
            afterRead: async () => {
              if (compacted) return;
              compacted = true;
              await client.put(changed).value("changed");
              await client.put("/pages/elsewhere").value("x"); // R+2: compact past R+1
              await cluster().compact();
            },
          },
        },
      ),
    );
    const reads = recordReads(t, `prefix ${JSON.stringify(prefix)}`);
    const user = userCalls(client);
    let snapshot: RangeSnapshot<Uint8Array>;
    try {
      snapshot = await watcher(t, value.snapshots()).get({
        filter: (s) => Buffer.from(s.entries.get(changed) ?? []).toString() === "changed",
        signal: deadline(20_000, "the resync after the compaction"),
      });
    } finally {
      const { calls, failures } = await user.stop();
      t.deepEqual(failures, [], `every one of the user's ${calls} calls succeeded meanwhile`);
    }
    t.deepEqual(reads, [COUNT, COUNT], "the first read, then the resync, each of every key");
    t.is(snapshot.entries.size, COUNT, "every key in the resynced state");
  },
);
