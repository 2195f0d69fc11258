/**
 * Leak checks for a suite against real etcd: once its tests are done, every etcd watch
 * they opened must be gone, on both sides.
 */

import { subscribe } from "node:diagnostics_channel";
import type { TestFn } from "ava";
import { ETCD_WATCH_CHANNEL, type EtcdWatchMessage } from "../../src/index.js";
import { pollUntil } from "../harness/poll.js";

/** etcd watches the library holds open in this process: created minus ended, all values. */
let libraryWatches = 0;
subscribe(ETCD_WATCH_CHANNEL, (message) => {
  const event = message as EtcdWatchMessage;
  if (event.type === "watch-created") libraryWatches += 1;
  else if (event.type === "watch-ended") libraryWatches -= 1;
});

/** Options of {@link checkLeaks}. */
export interface LeakCheckOptions {
  /** Bound on the wait for the counts to come back, in ms; default 15000 (2 busy cores). */
  readonly timeoutMs?: number;
}

/** A store that may count the watch streams open on its server side (an etcd cluster does). */
export interface WatchStreamCounter {
  /** Watch streams open on the server now; absent when the store cannot tell. */
  openWatchStreams?(): Promise<number>;
}

/**
 * Registers, after `withCluster(test, …)` or inside `withBackends(test, …)`:
 * - `test.serial.before` (so after the cluster has started): the cluster's open watch streams, as its members count them
 *   (`cluster.openWatchStreams()`: gRPC server metrics), as the suite's baseline;
 * - `test.after` (runs only when every test passed: a failed test may leave things open):
 *   waits, polling, until the members count no more open watch streams than the baseline
 *   and the library holds no etcd watch in this process (watches created minus ended, on
 *   its diagnostics channel); fails the suite, naming both counts, if that takes longer
 *   than `timeoutMs`.
 *
 * A store that cannot count its streams (MemoryEtcd) is checked on the library's side
 * only. A watch left open server-side by a closed watcher, a stream etcd3 keeps after
 * `close()`, or a retry loop that reopened a stream after its value was released all fail
 * it. Whether the process can exit is proven separately, by child processes that must
 * exit by themselves (`process-exit.test.ts`, `misuse.test.ts`).
 */
export function checkLeaks<Context>(
  test: TestFn<Context>,
  cluster: () => WatchStreamCounter,
  options: LeakCheckOptions = {},
): void {
  let baseline = 0;
  // Serial: runs after every hook declared before it (withCluster's start), not beside it.
  test.serial.before("leak check: watch streams open before the tests", async () => {
    baseline = (await cluster().openWatchStreams?.()) ?? 0;
  });
  test.after("leak check: every watch stream is closed after the tests", async (t) => {
    const counts = await pollUntil(
      async () => {
        const server = (await cluster().openWatchStreams?.()) ?? 0;
        const counts = { server, library: libraryWatches };
        return server <= baseline && libraryWatches === 0
          ? { done: true, value: counts }
          : {
              done: false,
              why: `${server} watch streams open on the members (baseline ${baseline}), ${libraryWatches} held by the library`,
            };
      },
      {
        what: "every etcd watch stream of the suite to be closed",
        timeoutMs: options.timeoutMs ?? 15_000,
        intervalMs: 100,
      },
    );
    t.log(
      `leak check: ${counts.server} watch streams open (baseline ${baseline}), ${counts.library} held by the library`,
    );
  });
}
