/**
 * Lingering shared watch streams (src/etcd/watch-hub.ts), on a real member: a stream
 * emptied of its last watch ends at once, unless the hub saw a stream emptied just
 * before (watches created and cancelled in turn, as a lock line does): then it stays open
 * `LINGER_MS` for the next watch, and ends that long after its last one.
 */

import test from "ava";
import { singleKey } from "../../src/etcd/key-range.js";
import { type EtcdPort, type OpenedWatchStream, portOf } from "../../src/etcd/port.js";
import { DEFAULT_TUNING } from "../../src/etcd/retry-policy.js";
import { LINGER_MS } from "../../src/etcd/shared-stream.js";
import { watchHub } from "../../src/etcd/watch-hub.js";
import { lazyClient, withCluster } from "../harness/ava.js";
import { within } from "../helpers/coordination.js";
import { isPending } from "../helpers/pending.js";

const cluster = withCluster(test, { members: 1 });
const etcd = lazyClient(cluster);

/** A port of its own (so a hub of its own) that records each stream it opens and its end. */
function countingPort(): { port: EtcdPort; opened: number; ends: Promise<number>[] } {
  const real = portOf(etcd());
  const counts = { opened: 0, ends: [] as Promise<number>[] };
  const port: EtcdPort = {
    ...real,
    openWatchStream: async (): Promise<OpenedWatchStream> => {
      const opened = await real.openWatchStream();
      counts.opened += 1;
      const cancel = opened.stream.cancel.bind(opened.stream);
      counts.ends.push(
        new Promise((resolve) => {
          opened.stream.cancel = () => {
            resolve(performance.now());
            cancel();
          };
        }),
      );
      return opened;
    },
  };
  return Object.assign(counts, { port });
}

/** Creates a watch of `key` on the hub and closes it again; resolves when it is closed. */
async function watchOnce(port: EtcdPort, key: string): Promise<number> {
  const watch = await watchHub(port).attach(
    { range: singleKey(Buffer.alloc(0), key), startRevision: 0, onResponse: () => {} },
    DEFAULT_TUNING,
  );
  watch.close();
  return performance.now();
}

test("a stream emptied with no stream emptied just before ends at once", async (t) => {
  const counting = countingPort();
  await watchOnce(counting.port, "/linger/once");
  t.is(counting.opened, 1);
  t.false(await isPending(counting.ends[0] as Promise<number>), "cancelled at once");
});

test("watches created and cancelled in turn share one lingering stream, which ends LINGER_MS after its last watch", async (t) => {
  const counting = countingPort();
  await watchOnce(counting.port, "/linger/turns"); // the first stream ends at once
  let lastClosed = 0;
  for (let i = 0; i < 5; i++) lastClosed = await watchOnce(counting.port, "/linger/turns");
  t.is(counting.opened, 2, "one stream for the first watch, one for the five after it");
  const second = counting.ends[1] as Promise<number>;
  t.true(await isPending(second), "the second stream lingers after its last watch");
  const endedAt = await within(second, LINGER_MS + 10_000, "the lingering stream to end");
  // The timer may fire a millisecond early by the monotonic clock's rounding.
  t.true(endedAt - lastClosed >= LINGER_MS - 5, `ended ${endedAt - lastClosed} ms after`);
});

test("a watch created while a stream lingers keeps it open past LINGER_MS", async (t) => {
  const counting = countingPort();
  await watchOnce(counting.port, "/linger/kept");
  await watchOnce(counting.port, "/linger/kept"); // opens the second stream, which lingers
  const watch = await watchHub(counting.port).attach(
    { range: singleKey(Buffer.alloc(0), "/linger/kept"), startRevision: 0, onResponse: () => {} },
    DEFAULT_TUNING,
  );
  t.teardown(() => watch.close());
  t.is(counting.opened, 2, "the watch went to the lingering stream");
  // Absence of an end can only be waited for: past the linger time, both are still open.
  await new Promise((resolve) => setTimeout(resolve, LINGER_MS + 200));
  t.true(await isPending(watch.ended), "the watch is still open");
  t.true(await isPending(counting.ends[1] as Promise<number>), "and so is its stream");
});
