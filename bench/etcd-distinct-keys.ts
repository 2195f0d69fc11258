/**
 * Row 15: many distinct keys, one value each, on one client (a controller watching
 * feature flags or per-tenant configuration). event-value: one `EtcdValue` per key, one
 * watcher each. Baseline: the same number of raw etcd3 watchers on the same client
 * (`client.watch().key(k).create()`, which etcd3 multiplexes on one stream), plus one
 * `getAll()` of the keys' prefix for the values (raw watchers deliver none). One round
 * per side and size, event-value first, on the same member, with a pause between.
 *
 * - Held and watched: from just before the first value (or raw watcher) is made until
 *   every value is held and every watch attached (event-value: each watcher's first
 *   `get()` returned and each `status()` is live).
 * - One put per key: from just before the first put (64 in flight) until every watcher
 *   has the put of its key.
 * - Client heap growth: heap used plus ArrayBuffer memory, after a full GC, with
 *   everything set up, minus before.
 * - etcd RSS growth: the member's `process_resident_memory_bytes`, set up minus before.
 * - etcd idle CPU: the member's `process_cpu_seconds_total` over 10 s with every key
 *   watched and none written, as a share of one core.
 * - Server watch streams: the member's gRPC metrics (`grpc_server_started_total` minus
 *   `grpc_server_handled_total` of `Watch`), set up minus before.
 */

import { setTimeout as delay } from "node:timers/promises";
import type { Watcher as RawWatcher } from "etcd3";
import { EtcdValue, type Watcher } from "../src/index.js";
import { openWatchStreams, requestText } from "../test/harness/etcd-http.js";
import {
  type BenchEtcd,
  type EtcdSizes,
  gc,
  heapBytes,
  loadKeys,
  now,
  putConcurrently,
  untilLive,
} from "./etcd-common.js";
import { type Row, ratioAtMostRow } from "./report.js";

const PREFIX = "/bench/distinct/";
const keyOf = (i: number): string => `${PREFIX}${String(i).padStart(6, "0")}`;

interface Figures {
  heldMs: number;
  putMs: number;
  heapMiB: number;
  rssMiB: number;
  idleCpuPercent: number;
  streams: number;
}

interface Sides {
  /** Sets up `keys` watches holding every key's value; resolves once all are held. */
  setUp(keys: number): Promise<void>;
  /** Resolves once every watch has seen the put made after `from` for its key. */
  nextPuts(from: number): Promise<void>;
  tearDown(): Promise<void>;
}

async function memberMetrics(etcd: BenchEtcd): Promise<{ rss: number; cpu: number }> {
  const { text } = await requestText(etcd.endpoint, "/metrics", undefined, 5000);
  const value = (name: string): number => {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`etcd's /metrics has no ${name}`);
    return Number(line.slice(name.length + 1));
  };
  return { rss: value("process_resident_memory_bytes"), cpu: value("process_cpu_seconds_total") };
}

async function measure(
  etcd: BenchEtcd,
  keys: number,
  side: Sides,
  idleMs: number,
): Promise<Figures> {
  gc();
  const heapBefore = heapBytes();
  const metricsBefore = await memberMetrics(etcd);
  const streamsBefore = await openWatchStreams(etcd.endpoint);
  const start = now();
  await side.setUp(keys);
  const heldMs = now() - start;
  const streams = (await openWatchStreams(etcd.endpoint)) - streamsBefore;
  gc();
  const heapMiB = (heapBytes() - heapBefore) / 2 ** 20;
  const idleStart = await memberMetrics(etcd);
  await delay(idleMs);
  const idleEnd = await memberMetrics(etcd);
  const idleCpuPercent = ((idleEnd.cpu - idleStart.cpu) / (idleMs / 1000)) * 100;
  const rssMiB = (idleEnd.rss - metricsBefore.rss) / 2 ** 20;
  const round = Date.now();
  const seen = side.nextPuts(round);
  const putStart = now();
  await putConcurrently(keys, 64, (i) => etcd.writer.put(keyOf(i)).value(`${round}`).exec());
  await seen;
  const putMs = now() - putStart;
  await side.tearDown();
  return { heldMs, putMs, heapMiB, rssMiB, idleCpuPercent, streams };
}

function ours(etcd: BenchEtcd): Sides {
  let watchers: Watcher<string | undefined>[] = [];
  let values: EtcdValue<string>[] = [];
  return {
    async setUp(keys) {
      values = Array.from(
        { length: keys },
        (_, i) => new EtcdValue(etcd.consumer, keyOf(i), { decoder: (bytes) => bytes.toString() }),
      );
      watchers = values.map((value) => value.watch());
      await Promise.all(watchers.map((watcher) => watcher.get()));
      await Promise.all(values.map((value) => untilLive(value.status())));
    },
    nextPuts: async (round) => {
      const wanted = String(round);
      await Promise.all(watchers.map((watcher) => watcher.get({ filter: (v) => v === wanted })));
    },
    async tearDown() {
      for (const watcher of watchers) watcher.close();
      watchers = [];
      values = [];
    },
  };
}

function raw(etcd: BenchEtcd): Sides {
  let watchers: RawWatcher[] = [];
  const held = new Map<string, string>();
  let waiting: { round: string; left: number; done: () => void } | undefined;
  return {
    async setUp(keys) {
      const [made, response] = await Promise.all([
        Promise.all(
          Array.from({ length: keys }, async (_, i) => {
            const key = keyOf(i);
            const watcher = await etcd.consumer.watch().key(key).create();
            watcher.on("error", () => {});
            watcher.on("put", (kv) => {
              const value = kv.value.toString();
              held.set(key, value);
              if (waiting !== undefined && value === waiting.round && --waiting.left === 0) {
                waiting.done();
              }
            });
            return watcher;
          }),
        ),
        etcd.consumer.getAll().prefix(PREFIX).exec(),
      ]);
      watchers = made;
      for (const kv of response.kvs) held.set(kv.key.toString(), kv.value.toString());
      if (held.size < keys) throw new Error(`read ${held.size} keys, not ${keys}`);
    },
    nextPuts: (round) =>
      new Promise<void>((resolve) => {
        waiting = { round: String(round), left: watchers.length, done: resolve };
      }),
    async tearDown() {
      await Promise.all(watchers.map((watcher) => watcher.cancel()));
      watchers = [];
      held.clear();
    },
  };
}

/** Row 15: for each size, six figures, event-value against raw etcd3 watchers. */
export async function distinctKeysRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  const rows: Row[] = [];
  for (const keys of sizes.distinctKeys) {
    await loadKeys(etcd.writer, keys, keyOf, () => "initial");
    const a = await measure(etcd, keys, ours(etcd), sizes.idleMs);
    await delay(1000);
    const b = await measure(etcd, keys, raw(etcd), sizes.idleMs);
    const n = keys.toLocaleString("en-US");
    const baselineName = `${n} raw etcd3 watchers on one client + getAll()`;
    const row = (measurement: string, unit: string, field: keyof Figures, max: number): Row =>
      ratioAtMostRow(
        {
          id: 15,
          measurement: `${n} distinct keys: ${measurement}`,
          unit,
          ours: a[field],
          baseline: b[field],
          baselineName,
        },
        max,
      );
    rows.push(
      row("until every value is held and watched", "ms", "heldMs", 1.0),
      row("one put per key, until every watcher has it", "ms", "putMs", 1.0),
      row("client heap growth", "MiB", "heapMiB", 1.0),
      row("etcd RSS growth", "MiB", "rssMiB", 1.5),
    );
    const cpu = ratioAtMostRow(
      {
        id: 15,
        measurement: `${n} distinct keys: etcd CPU while idle, ${sizes.idleMs / 1000} s`,
        unit: "% of a core",
        ours: a.idleCpuPercent,
        baseline: b.idleCpuPercent,
        baselineName,
      },
      1.5,
    );
    const cpuPass = cpu.pass || a.idleCpuPercent <= 2;
    rows.push({ ...cpu, target: "ratio ≤ 1.5 or ≤ 2%", pass: cpuPass });
    rows.push({
      id: 15,
      measurement: `${n} distinct keys: server watch streams`,
      unit: "streams",
      ours: a.streams,
      baseline: b.streams,
      baselineName,
      ratio: a.streams / Math.max(1, b.streams),
      target: "a handful",
      pass: a.streams <= 4,
    });
  }
  return rows;
}
