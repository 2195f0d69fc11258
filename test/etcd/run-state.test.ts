/**
 * The watch loop of one range (`RangeSync`) against a real member, with a port that
 * holds or refuses chosen requests:
 * - each run (start() to stop()) has its own state: a request of a stopped run that
 *   settles late changes nothing of the next run;
 * - the auth-token refresh read is bounded by the read timeout like every other request:
 *   a member that never answers it does not hang the loop.
 */

import test from "ava";
import { EtcdInvalidAuthTokenError, type IRangeRequest, type IWatchResponse } from "etcd3";
import { prefixRange } from "../../src/etcd/key-range.js";
import type { WatchStreamPort } from "../../src/etcd/port.js";
import { type EtcdPort, type OpenedWatchStream, portOf } from "../../src/etcd/port.js";
import { RangeSync, type RangeSyncListener } from "../../src/etcd/range-sync.js";
import { DEFAULT_TUNING } from "../../src/etcd/retry-policy.js";
import { MemoryValue, type WatchStatus } from "../../src/index.js";
import { lazyClient, withCluster } from "../harness/ava.js";
import { deadline } from "../helpers/faults.js";

const cluster = withCluster(test, { members: 1 });
const etcd = lazyClient(cluster);

/** A listener that records statuses and wakes `count` on each. */
function recording(t: import("ava").ExecutionContext): {
  listener: RangeSyncListener;
  statuses: WatchStatus[];
  until: (done: () => boolean, what: string) => Promise<void>;
  /** Wakes `until` to check its condition again. */
  poke: () => void;
} {
  const statuses: WatchStatus[] = [];
  const count = new MemoryValue(0);
  const counted = count.watch();
  t.teardown(() => counted.close());
  return {
    statuses,
    poke: () => count.set(count.current ?? 0),
    listener: {
      onChanges: () => {},
      onRead: () => {},
      onStatus: (status) => {
        statuses.push(status);
        count.set(statuses.length);
      },
      onFailure: (error) => t.fail(String(error)),
    },
    until: async (done, what) => {
      const signal = deadline(10_000, what);
      while (!done()) await counted.get({ signal });
    },
  };
}

test.serial(
  "auth refresh: a refresh read the member never answers times out and is retried",
  async (t) => {
    const prefix = "/run-state/refresh/";
    const real = portOf(etcd());
    let opens = 0;
    let refreshes = 0;
    const calls: WatchStreamPort[] = [];
    const port: EtcdPort = {
      ...real,
      range: (request: IRangeRequest) => {
        // The first refresh read (count_only) is never answered: a frozen member.
        if (request.count_only === true && refreshes++ === 0) return new Promise(() => {});
        return real.range(request);
      },
      openWatchStream: async (): Promise<OpenedWatchStream> => {
        // The second stream is refused as with an expired token (trap 11).
        if (++opens === 2) throw new EtcdInvalidAuthTokenError("invalid auth token");
        return real.openWatchStream();
      },
    };
    const { listener, statuses, until } = recording(t);
    const sync = new RangeSync({
      port,
      range: prefixRange(Buffer.alloc(0), prefix),
      target: "refresh",
      backoff: {},
      tuning: { ...DEFAULT_TUNING, readTimeoutMs: 300 },
      hooks: { watchCreated: (call) => calls.push(call) },
      listener,
    });
    sync.start();
    t.teardown(() => sync.stop());
    await until(() => statuses.at(-1)?.state === "live", "the first watch");
    calls[0]?.cancel(); // broken: the next stream is refused, so the token is refreshed
    await until(() => statuses.at(-1)?.state === "stale", "the broken stream");
    await until(() => statuses.at(-1)?.state === "live", "live again after the refresh read");
    t.true(refreshes >= 2, `the unanswered refresh read was retried (${refreshes} reads)`);
  },
);

test.serial(
  "per-run state: a stopped run whose watch create is refused as compacted leaves the next run alone",
  async (t) => {
    const prefix = "/run-state/compacted/";
    await etcd().put(`${prefix}a`).value("1").exec();
    const real = portOf(etcd());
    let opens = 0;
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const firstCancelled = new MemoryValue(false);
    const reads: IRangeRequest[] = [];
    const calls: WatchStreamPort[] = [];
    const openHeld = async (): Promise<OpenedWatchStream> => {
      // The first run's stream opens only once the test lets it.
      opens += 1;
      poke();
      await firstHeld;
      const opened = await real.openWatchStream();
      // Its first create is refused as compacted (etcd's answer, in one response).
      const stream = opened.stream;
      const on = stream.on.bind(stream);
      const refusing = new Proxy(stream, {
        get(target, name, receiver) {
          if (name !== "on") return Reflect.get(target, name, receiver);
          return (event: string, listener: (...args: unknown[]) => void) => {
            if (event !== "data") return on(event as "data", listener);
            return on("data", (response: IWatchResponse) => {
              // Only the first create (the stopped run's): the stream may be shared.
              if (!response.created || firstCancelled.current) return listener(response);
              listener({
                ...response,
                canceled: true,
                compact_revision: response.header.revision,
              });
              firstCancelled.set(true);
            });
          };
        },
      });
      return { stream: refusing, member: opened.member };
    };
    // Streams are shared per opener: the second run gets its own, so that it need not
    // wait for the first run's held one.
    let firstRun = true;
    const port: EtcdPort = {
      ...real,
      range: (request: IRangeRequest) => {
        reads.push(request);
        return real.range(request);
      },
      get openWatchStream() {
        return firstRun ? openHeld : real.openWatchStream;
      },
    };
    const { listener, statuses, until, poke } = recording(t);
    const sync = new RangeSync({
      port,
      range: prefixRange(Buffer.alloc(0), prefix),
      target: "runs",
      backoff: {},
      // Time enough for the held open: the first run's create must reach etcd.
      tuning: { ...DEFAULT_TUNING, answerTimeoutMs: 60_000 },
      hooks: { watchCreated: (call) => calls.push(call) },
      listener,
    });
    sync.start();
    t.teardown(() => sync.stop());
    await until(() => opens === 1, "the first run's watch");
    sync.stop();
    firstRun = false;
    sync.start();
    await until(() => statuses.at(-1)?.state === "live", "the second run live");
    const readsBefore = reads.length;
    releaseFirst();
    await firstCancelled.watch().get({
      filter: (cancelled) => cancelled,
      signal: deadline(10_000, "the first run's watch refused as compacted"),
    });
    // Break the second run's stream: it must resume from its own revision, no read.
    calls[0]?.cancel();
    await until(
      () => statuses.filter((s) => s.state === "live").length >= 2,
      "the second run live again",
    );
    t.deepEqual(
      reads.slice(readsBefore).filter((r) => r.count_only !== true),
      [],
      "the second run resumes without reading again: nothing of the stopped run leaked into it",
    );
  },
);
