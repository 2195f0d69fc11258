/**
 * Watch streams over a slow link (issue 13, third livelock): the answer to a progress
 * request queues behind a large message in transit, so a stream busy receiving was taken
 * for a stalled one, re-created from the same revision, and sent the same large message
 * again, forever. A stream whose member keeps sending bytes is alive. Each test measures
 * the library over a throttled link, then etcd3's own watcher over the same link (one
 * at a time: two watchers would share the link), and compares the two times.
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import test, { type ExecutionContext } from "ava";
import type { Etcd3 } from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  ETCD_WATCH_CHANNEL,
  EtcdRangeValue,
  EtcdValue,
  type EtcdWatchMessage,
  MemoryValue,
  type WatchStatus,
} from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { openWatchStreams } from "../harness/etcd-http.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { deadline, putMany } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";
import { watcher } from "../helpers/watcher.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);

const KIB = 1024;
/** The most a delivery may take, as a multiple of etcd3's own watcher's time. */
const MAX_RATIO = 2.2;

/** A plain client (etcd3's defaults) connected through a proxy of its own. */
async function proxiedClient(t: ExecutionContext): Promise<{ proxy: TcpProxy; client: Etcd3 }> {
  const proxy = await TcpProxy.start(Number(new URL(cluster().endpoints[0] as string).port));
  t.teardown(() => proxy.close());
  const client = cluster().client({ hosts: [proxy.url] });
  t.teardown(() => client.close());
  return { proxy, client };
}

/**
 * etcd3's own watcher of `prefix` (or one key) on `client`: resolves once it is created;
 * `reached(revision)` resolves when an event at or past `revision` arrived. Uses the
 * events' own revisions (etcd3's headers run ahead during a catch-up). Cancel it before
 * measuring the library: two watchers of one key would share the link.
 */
async function etcd3Watcher(
  t: ExecutionContext,
  client: Etcd3,
  target: { prefix: string } | { key: string },
): Promise<{
  reached: (revision: number, what: string) => Promise<void>;
  cancel: () => Promise<void>;
}> {
  const builder =
    "prefix" in target ? client.watch().prefix(target.prefix) : client.watch().key(target.key);
  const w = await builder.create();
  t.teardown(() => w.cancel());
  w.on("error", () => {});
  const latest = new MemoryValue(0);
  w.on("data", (response) => {
    let last = latest.current ?? 0;
    for (const event of response.events) last = Math.max(last, Number(event.kv.mod_revision));
    latest.set(last);
  });
  return {
    reached: async (revision, what) => {
      const seen = latest.watch();
      try {
        await seen.get({ filter: (r) => r >= revision, signal: deadline(40_000, what) });
      } finally {
        seen.close();
      }
    },
    cancel: () => w.cancel(),
  };
}

/** ms from `started` to now. */
function since(started: number): number {
  return performance.now() - started;
}

test.serial(
  "slow link: a 2 MiB catch-up at 400 KiB/s arrives within about twice etcd3's own watcher's time",
  async (t) => {
    const { proxy, client } = await proxiedClient(t);
    const direct = cluster().client();
    const prefix = "/slow/catch-up/";
    const keys = Array.from({ length: 1000 }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
    await putMany(direct, keys, () => "r0");
    proxy.setRate("toClient", { bytesPerSecond: 400 * KIB });

    /** A short disconnect during 1000 puts of 2 KiB: ms from the link's return to `reached`. */
    const catchUp = async (
      round: number,
      reached: (revision: number) => Promise<void>,
    ): Promise<number> => {
      proxy.setMode("blackhole");
      const last = await putMany(direct, keys, () => `r${round}:`.padEnd(2 * KIB, "x"));
      const started = performance.now();
      proxy.setMode("pass");
      await reached(last);
      return since(started);
    };

    // The library first: its initial read finds the small values of round 0.
    const snapshots = watcher(t, new EtcdRangeValue(client, { prefix }).snapshots());
    await snapshots.get({ signal: deadline(20_000, "the range's first read") });
    const libraryMs = await catchUp(1, async (r) => {
      await snapshots.get({
        filter: (s) => s.revision >= r,
        signal: deadline(40_000, "the library to catch up"),
      });
    });
    snapshots.close(); // its etcd watch ends: the link is etcd3's alone

    const raw = await etcd3Watcher(t, client, { prefix });
    const rawMs = await catchUp(2, (r) => raw.reached(r, "etcd3's watcher to catch up"));
    await raw.cancel();

    t.log(`etcd3's watcher ${rawMs.toFixed(0)} ms, EtcdRangeValue ${libraryMs.toFixed(0)} ms`);
    const ratio = libraryMs / rawMs;
    t.true(ratio <= MAX_RATIO, `within about twice etcd3's time: ratio ${ratio.toFixed(2)}`);
  },
);

test.serial(
  "slow link: one 1.4 MiB value at 200 KiB/s arrives within about twice etcd3's own watcher's time",
  async (t) => {
    const { proxy, client } = await proxiedClient(t);
    const direct = cluster().client();
    const key = "/slow/one-large-value";
    await direct.put(key).value("small");
    proxy.setRate("toClient", { bytesPerSecond: 200 * KIB });
    const size = Math.floor(1.4 * 1024 * KIB);

    /** Puts a 1.4 MiB value: ms from the put's answer to `reached`. */
    const deliver = async (fill: number, reached: (revision: number) => Promise<void>) => {
      const response = await direct.put(key).value(Buffer.alloc(size, fill)).exec();
      const started = performance.now();
      await reached(Number(response.header.revision));
      return since(started);
    };

    // The library first: its initial read finds the small value.
    const w = watcher(t, new EtcdValue(client, key));
    await w.get({ signal: deadline(20_000, "the key's first read") });
    let delivered: Uint8Array | undefined;
    const libraryMs = await deliver(1, async () => {
      delivered = await w.get({
        filter: (v) => v?.[0] === 1,
        signal: deadline(40_000, "the library to get the value"),
      });
    });
    w.close(); // its etcd watch ends: the link is etcd3's alone

    const raw = await etcd3Watcher(t, client, { key });
    const rawMs = await deliver(2, (r) => raw.reached(r, "etcd3's watcher to get the value"));
    await raw.cancel();

    t.is(delivered?.length, size, "the whole value");
    t.is(delivered?.[0], 1, "the library's own put");
    t.log(`etcd3's watcher ${rawMs.toFixed(0)} ms, EtcdValue ${libraryMs.toFixed(0)} ms`);
    const ratio = libraryMs / rawMs;
    t.true(ratio <= MAX_RATIO, `within about twice etcd3's time: ratio ${ratio.toFixed(2)}`);
  },
);

test.serial(
  "slow link: creates pipelined on one stream whose answers come slower than the answer timeout, bytes arriving all along, are not abandoned",
  async (t) => {
    const { proxy, client } = await proxiedClient(t);
    const direct = cluster().client();
    const prefix = "/slow/creates/";
    const keys = Array.from({ length: 400 }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
    await putMany(direct, keys, () => "v");
    const streamsBefore = await openWatchStreams(cluster().endpoints[0] as string);
    let created = 0;
    const onMessage = (message: unknown): void => {
      const event = message as EtcdWatchMessage;
      if (event.type === "watch-created" && event.target.startsWith(`key "${prefix}`)) created++;
    };
    subscribe(ETCD_WATCH_CHANNEL, onMessage);
    t.teardown(() => unsubscribe(ETCD_WATCH_CHANNEL, onMessage));
    // ~65 bytes per answer to a create: 400 answers take over a second at 20 KiB/s, well
    // past the answer timeout, while each of them keeps bytes arriving.
    proxy.setRate("toClient", { bytesPerSecond: 20 * KIB });
    const options = withInternal({}, { tuning: { answerTimeoutMs: 400, idleCheckMs: 2000 } });
    const values = keys.map((key) => new EtcdValue(client, key, options));
    const statuses: WatchStatus[] = [];
    const watchers = values.map((value) => watcher(t, value));
    const statusWatchers = values.map((value) => watcher(t, value.status()));
    await Promise.all(watchers.map((w) => w.get({ signal: deadline(30_000, "every value") })));
    await Promise.all(
      statusWatchers.map(async (w) => {
        for (;;) {
          const status = await w.get({ signal: deadline(30_000, "every watch live") });
          statuses.push(status);
          if (status.state === "live") return;
        }
      }),
    );
    const errors = statuses.filter((status) => status.error !== undefined);
    t.deepEqual(
      errors.map((status) => String(status.error)),
      [],
      "no create timed out: the answers kept bytes arriving",
    );
    t.is(created, keys.length, "each watch created once");
    const streams = (await openWatchStreams(cluster().endpoints[0] as string)) - streamsBefore;
    t.is(streams, 1, "on one stream: none was retired");
  },
);
