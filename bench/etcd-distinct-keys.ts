/**
 * Row 15: many distinct keys, one value each, on one client (a controller watching
 * feature flags or per-tenant configuration). event-value: one `EtcdValue` per key, one
 * watcher each. Baseline: what a user of raw etcd3 writes to hold and watch the same
 * keys: the same number of raw etcd3 watchers on the same client
 * (`client.watch().key(k).create()`, which etcd3 multiplexes on one stream), plus one
 * `client.get(k)` per key for the values (raw watchers deliver none), all started at
 * once. A second baseline reads every value with one `getAll()` of the keys' prefix
 * instead: possible only because the benchmark's keys share a prefix (unrelated keys do
 * not), and the cheapest read etcd offers; its figures are reported as extra lines.
 * `rounds` rounds per side and size on the same member, the sides' order alternating
 * from round to round, with a pause between; each figure is the median of its rounds.
 * etcd's RSS growth and idle CPU are measured apart, in `memberRounds` more rounds per
 * side, each on a member of its own loaded with the same keys: on a shared member, Go
 * keeps what a round freed, or gives some of it back during a later round (a side's
 * growth measured there depends on the rounds before it, and can be negative).
 *
 * - Held and watched: from just before the first value (or raw watcher) is made until
 *   every value is held and every watch attached (event-value: each watcher's first
 *   `get()` returned and each `status()` is live).
 * - One put per key: from just before the first put (64 in flight) until every watcher
 *   has the put of its key.
 * - Client heap growth: heap used plus ArrayBuffer memory, after a turn of the event loop
 *   and a full GC (`keptHeapBytes`), with everything set up, minus before.
 * - etcd RSS growth: the member's `process_resident_memory_bytes` at the end of the idle
 *   time below minus before the set-up (on the side's own member).
 * - etcd idle CPU: the member's `process_cpu_seconds_total` over 10 s with every key
 *   watched and none written, as a share of one core (on the side's own member).
 * - Server watch streams: the member's gRPC metrics (`grpc_server_started_total` minus
 *   `grpc_server_handled_total` of `Watch`), set up minus before.
 *
 * Run through `tsx`, which compiles with esbuild's `keepNames`: every function of the
 * library (TypeScript, compiled on the fly) is renamed with `Object.defineProperty` as
 * it is made, which costs each closure a property array (about 250 bytes). etcd3 is
 * plain JavaScript and does not pay it. The compiled library (`npm run build`) does not
 * either: see BENCHMARKS.md for the figure measured on it.
 */

import { setTimeout as delay } from "node:timers/promises";
import type { Watcher as RawWatcher } from "etcd3";
import { EtcdValue, type Watcher } from "../src/index.js";
import { openWatchStreams } from "../test/harness/etcd-http.js";
import {
  type BenchEtcd,
  type EtcdSizes,
  gc,
  heapBytes,
  keptHeapBytes,
  loadKeys,
  memberMetrics,
  now,
  onOwnMember,
  putConcurrently,
  untilLive,
} from "./etcd-common.js";
import { median, type Row, ratioAtMostRow } from "./report.js";

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

/** Set-up time, the puts' time, client heap growth and server watch streams. */
async function measureClient(etcd: BenchEtcd, keys: number, side: Sides): Promise<Figures> {
  gc();
  const heapBefore = heapBytes();
  const streamsBefore = await openWatchStreams(etcd.endpoint);
  const start = now();
  try {
    await side.setUp(keys);
  } catch (error) {
    await side.tearDown();
    throw error;
  }
  const heldMs = now() - start;
  const streams = (await openWatchStreams(etcd.endpoint)) - streamsBefore;
  const heapMiB = ((await keptHeapBytes()) - heapBefore) / 2 ** 20;
  const round = Date.now();
  const seen = side.nextPuts(round);
  seen.catch(() => {}); // awaited below; rejects only after a failed round's tear-down
  const putStart = now();
  try {
    await putConcurrently(keys, 64, (i) => etcd.writer.put(keyOf(i)).value(`${round}`).exec());
    await seen;
  } catch (error) {
    await side.tearDown();
    throw error;
  }
  const putMs = now() - putStart;
  await side.tearDown();
  return { heldMs, putMs, heapMiB, rssMiB: Number.NaN, idleCpuPercent: Number.NaN, streams };
}

/**
 * The member's RSS growth from the set-up to the end of `idleMs` idle, and its CPU over
 * that idle time, on a member of the round's own, loaded with the keys (see
 * {@link onOwnMember}).
 */
function measureMember(
  keys: number,
  make: (etcd: BenchEtcd) => Sides,
  idleMs: number,
): Promise<Figures> {
  return onOwnMember(async (etcd): Promise<Figures> => {
    await loadKeys(etcd.writer, keys, keyOf, () => "initial");
    const side = make(etcd);
    const before = await memberMetrics(etcd);
    try {
      await side.setUp(keys);
      const idleStart = await memberMetrics(etcd);
      await delay(idleMs);
      const idleEnd = await memberMetrics(etcd);
      return {
        heldMs: Number.NaN,
        putMs: Number.NaN,
        heapMiB: Number.NaN,
        rssMiB: (idleEnd.rss - before.rss) / 2 ** 20,
        idleCpuPercent: ((idleEnd.cpu - idleStart.cpu) / (idleMs / 1000)) * 100,
        streams: Number.NaN,
      };
    } finally {
      await side.tearDown();
    }
  });
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

/** How the raw side reads the values: one `get()` per key, or one `getAll()` of the prefix. */
type RawRead = "per key" | "prefix";

function raw(etcd: BenchEtcd, read: RawRead): Sides {
  let watchers: RawWatcher[] = [];
  const held = new Map<string, string>();
  let waiting: { round: string; left: number; done: () => void } | undefined;
  const readValues = async (keys: number): Promise<void> => {
    if (read === "prefix") {
      const response = await etcd.consumer.getAll().prefix(PREFIX).exec();
      for (const kv of response.kvs) held.set(kv.key.toString(), kv.value.toString());
      return;
    }
    await Promise.all(
      Array.from({ length: keys }, async (_, i) => {
        const key = keyOf(i);
        const value = await etcd.consumer.get(key).string();
        if (value !== null) held.set(key, value);
      }),
    );
  };
  return {
    async setUp(keys) {
      const [made] = await Promise.all([
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
        readValues(keys),
      ]);
      watchers = made;
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

/**
 * Runs `round` again (up to 3 times in all) when it fails: on a starved machine etcd
 * sometimes drops a client's connection for pinging too often (its keepalive timers fire
 * late, then close together), failing the calls in flight, or answers `/metrics` late.
 * A failed round is reported on stderr and not counted.
 */
async function measureAgain(round: () => Promise<Figures>): Promise<Figures> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await round();
    } catch (error) {
      if (attempt >= 3) throw error;
      console.error(`row 15: a round failed (${String(error)}); measuring it again`);
      await delay(2000);
    }
  }
}

/** Each side's figures over its rounds: medians (idle CPU, RSS: the rounds that measured them). */
function medians(rounds: readonly Figures[]): Figures {
  const of = (field: keyof Figures): number =>
    median(rounds.map((round) => round[field]).filter((value) => !Number.isNaN(value)));
  return {
    heldMs: of("heldMs"),
    putMs: of("putMs"),
    heapMiB: of("heapMiB"),
    rssMiB: of("rssMiB"),
    idleCpuPercent: of("idleCpuPercent"),
    streams: of("streams"),
  };
}

/** Row 15: for each size, six figures, event-value against raw etcd3 watchers. */
export async function distinctKeysRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  const rows: Row[] = [];
  for (const keys of sizes.distinctKeys) {
    await loadKeys(etcd.writer, keys, keyOf, () => "initial");
    const sides = {
      ours: { make: ours, rounds: [] as Figures[] },
      perKey: { make: (etcd: BenchEtcd) => raw(etcd, "per key"), rounds: [] as Figures[] },
      prefix: { make: (etcd: BenchEtcd) => raw(etcd, "prefix"), rounds: [] as Figures[] },
    };
    const order = [sides.ours, sides.perKey, sides.prefix];
    for (let round = 0; round < sizes.distinctRounds; round++) {
      for (const side of round % 2 === 0 ? order : [...order].reverse()) {
        side.rounds.push(await measureAgain(() => measureClient(etcd, keys, side.make(etcd))));
        await delay(1000);
      }
    }
    for (let round = 0; round < sizes.memberRounds; round++) {
      for (const side of order) {
        side.rounds.push(await measureAgain(() => measureMember(keys, side.make, sizes.idleMs)));
      }
    }
    const a = medians(sides.ours.rounds);
    const b = medians(sides.perKey.rounds);
    const c = medians(sides.prefix.rounds);
    const n = keys.toLocaleString("en-US");
    const baselineName = `${n} raw etcd3 watchers on one client + ${n} get()`;
    const prefixName = `${n} raw etcd3 watchers on one client + one getAll() of the prefix`;
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
    const prefixRow = (measurement: string, unit: string, field: keyof Figures, max: number) =>
      ratioAtMostRow(
        {
          id: 15,
          measurement: `${n} distinct keys: ${measurement} (prefix-read baseline)`,
          unit,
          ours: a[field],
          baseline: c[field],
          baselineName: prefixName,
        },
        max,
      );
    rows.push(
      row("until every value is held and watched", "ms", "heldMs", 1.0),
      prefixRow("until every value is held and watched", "ms", "heldMs", 1.0),
      row("one put per key, until every watcher has it", "ms", "putMs", 1.0),
      row("client heap growth", "MiB", "heapMiB", 1.0),
      prefixRow("client heap growth", "MiB", "heapMiB", 1.0),
      row("etcd RSS growth", "MiB", "rssMiB", 1.5),
      prefixRow("etcd RSS growth", "MiB", "rssMiB", 1.5),
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
