/**
 * EtcdRangeValue with a 100,000-key range of about 12 MB, three times gRPC's default
 * 4 MiB message limit: the initial read is paged at one revision, so both `snapshots()`
 * and per-key `watch()` load it whole through a client with default options. Its own
 * file, so its own etcd member, and the other range tests do not wait for it.
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import test, { type ExecutionContext } from "ava";
import type { Etcd3 } from "etcd3";
import {
  BacklogDoneError,
  decoders,
  ETCD_WATCH_CHANNEL,
  EtcdRangeValue,
  type EtcdWatchMessage,
} from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { checkLeaks } from "../helpers/leaks.js";
import { watcher } from "../helpers/watcher.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);

const PREFIX = "/large/";
const COUNT = 100_000;
/** Puts per transaction: etcd's default `--max-txn-ops` is 128. */
const PER_TXN = 128;
/** Transactions in flight while loading. */
const IN_FLIGHT = 16;
const FIRST = keyOf(0);
const LAST = keyOf(COUNT - 1);

/** The i-th key: zero-padded, so key order is numeric order. */
function keyOf(i: number): string {
  return `${PREFIX}${String(i).padStart(6, "0")}`;
}

/** About 100 bytes per value: 100,000 of them are far above 4 MiB. */
function valueFor(i: number, generation = 0): string {
  return `${generation}:${i}:`.padEnd(100, "x");
}

/** Number of keys each whole-range read of `target` returned, from the diagnostics channel. */
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

let client: Etcd3 | undefined;
let loaded: Promise<void> | undefined;

/** The client (default options: 4 MiB messages), with the range written once. */
async function loadedClient(): Promise<Etcd3> {
  client ??= cluster().client();
  const etcd = client;
  loaded ??= (async () => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < COUNT) {
        const from = next;
        next = Math.min(COUNT, from + PER_TXN);
        const puts = [];
        for (let i = from; i < next; i++) puts.push(etcd.put(keyOf(i)).value(valueFor(i)));
        // A compare that always holds: the transaction only batches the puts.
        await etcd
          .if(keyOf(from), "Version", ">", -1)
          .then(...puts)
          .commit();
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  })();
  await loaded;
  return etcd;
}

test.serial(
  "snapshots: a 100,000-key range over 4 MiB loads whole, paged at one revision",
  async (t) => {
    const etcd = await loadedClient();
    const reads = recordReads(t, `prefix ${JSON.stringify(PREFIX)}`);
    const value = new EtcdRangeValue(etcd, { prefix: PREFIX }, { decoder: decoders.text });
    const s = watcher(t, value.snapshots());

    // While the pages are read, transactions keep changing the first and the last key
    // together: a read that is not at one revision sees them disagree.
    let writing = true;
    let generations = 0;
    const writer = (async () => {
      while (writing) {
        generations += 1;
        await etcd
          .if(FIRST, "Version", ">", -1)
          .then(
            etcd.put(FIRST).value(valueFor(0, generations)),
            etcd.put(LAST).value(valueFor(COUNT - 1, generations)),
          )
          .commit();
      }
    })();
    let snapshot: Awaited<ReturnType<typeof s.get>>;
    try {
      snapshot = await s.get();
    } finally {
      writing = false;
      await writer;
    }

    t.is(snapshot.entries.size, COUNT, "every key is in the first snapshot");
    t.deepEqual(reads, [COUNT], "one whole-range read of every key");
    const first = snapshot.entries.get(FIRST)?.split(":")[0];
    const last = snapshot.entries.get(LAST)?.split(":")[0];
    t.is(first, last, "keys changed together are seen together: the pages are at one revision");
    t.true(generations > 1, `the writer ran during the read (${generations} transactions)`);
    t.is(snapshot.entries.get(keyOf(54_321)), valueFor(54_321), "values intact");
    const bytes = [...snapshot.entries].reduce((sum, [k, v]) => sum + k.length + v.length, 0);
    t.true(bytes > 4 * 1024 * 1024, `the range (${bytes} bytes) exceeds a 4 MiB message`);
  },
);

test.serial(
  "watch: backlogOnly returns a 100,000-key range key by key in order, then BacklogDoneError",
  async (t) => {
    const etcd = await loadedClient();
    const w = watcher(t, new EtcdRangeValue(etcd, { prefix: PREFIX }));
    let count = 0;
    let outOfOrder: string | undefined;
    let previous = "";
    for (;;) {
      let key: string;
      try {
        key = (await w.get({ backlogOnly: true })).key;
      } catch (error) {
        t.true(error instanceof BacklogDoneError, `ends with BacklogDoneError, got ${error}`);
        break;
      }
      if (outOfOrder === undefined && key !== keyOf(count)) {
        outOfOrder = `get #${count} returned ${key} after ${previous}`;
      }
      previous = key;
      count += 1;
    }
    t.is(outOfOrder, undefined, "keys come once each, in key order");
    t.is(count, COUNT, "every key");
  },
);
