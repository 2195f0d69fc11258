/**
 * Rows 4 and 5: one key, one consumer. event-value's consumer is an `EtcdValue` watcher
 * doing `await watcher.get()` in a loop; the baseline is a raw etcd3 watcher
 * (`client.watch().key(k).create()`) whose `'put'` listener records the event. Both use
 * the same consumer client (createEtcdClient) and the same writer client, on the same
 * member.
 *
 * - Row 4: sequential puts; each sample is from just before the put call to the moment
 *   the consumer holds that put's revision (whichever of the put's answer and the event
 *   comes later does not matter: the writer waits for both before the next put). Rounds
 *   alternate which side goes first, and only one side is attached during a round (so
 *   neither pays for the other's events).
 * - Row 5: puts with a fixed number in flight; from just before the first put to the
 *   moment the consumer holds the last put's revision. Both consumers attached at once
 *   (see {@link sharedThroughputRound}); one at a time in the note.
 */

import type { Etcd3, Watcher as RawWatcher } from "etcd3";
import { EtcdValue, type Watcher, WatcherClosedError } from "../src/index.js";
import {
  Arrivals,
  alternate,
  type BenchEtcd,
  type EtcdSizes,
  now,
  percentile,
  putConcurrently,
  settle,
  storeRevision,
  untilLive,
} from "./etcd-common.js";
import { fmt, median, type Row, ratioAtMostRow } from "./report.js";

const RAW = "raw etcd3 watcher";

/** A consumer attached to one key, recording what it holds into `arrivals`. */
export interface Consumer {
  readonly arrivals: Arrivals;
  close(): Promise<void>;
}

/** event-value: an `EtcdValue` watcher doing `await get()` in a loop; live before it returns. */
export async function oursConsumer(client: Etcd3, key: string): Promise<Consumer> {
  const value = new EtcdValue(client, key);
  const watcher: Watcher<Uint8Array | undefined> = value.watch();
  await watcher.get();
  await untilLive(value.status());
  const arrivals = new Arrivals();
  arrivals.seen(watcher.revision ?? 0);
  const loop = (async () => {
    try {
      for (;;) {
        await watcher.get();
        arrivals.seen(watcher.revision as number);
      }
    } catch (error) {
      if (!(error instanceof WatcherClosedError)) throw error;
    }
  })();
  return {
    arrivals,
    close: async () => {
      watcher.close();
      await loop;
    },
  };
}

/** The baseline: a raw etcd3 watcher whose `'put'` listener records the event. */
export async function rawConsumer(client: Etcd3, key: string): Promise<Consumer> {
  const watcher: RawWatcher = await client.watch().key(key).create();
  const arrivals = new Arrivals();
  watcher.on("error", () => {});
  watcher.on("put", (kv) => arrivals.seen(Number(kv.mod_revision)));
  return { arrivals, close: () => watcher.cancel() };
}

export type Attach = (client: Etcd3, key: string) => Promise<Consumer>;

/** One round of row 4: latency samples in ms. */
export async function latencyRound(
  etcd: Pick<BenchEtcd, "writer" | "consumer">,
  attach: Attach,
  puts: number,
): Promise<number[]> {
  const key = "/bench/latency";
  const consumer = await attach(etcd.consumer, key);
  let revision = await storeRevision(etcd.writer);
  const samples: number[] = [];
  const warmUp = Math.min(10, puts);
  for (let i = 0; i < warmUp + puts; i++) {
    const expected = revision + 1;
    const arrived = consumer.arrivals.until(expected);
    const start = now();
    const response = await etcd.writer.put(key).value(`v${i}`).exec();
    revision = Number(response.header.revision);
    if (revision !== expected) throw new Error(`another writer: revision ${revision}`);
    const at = await arrived;
    if (i >= warmUp) samples.push(at - start);
  }
  await consumer.close();
  return samples;
}

/** One round of row 5: events applied per second. */
async function throughputRound(etcd: BenchEtcd, attach: Attach, sizes: EtcdSizes): Promise<number> {
  const key = "/bench/throughput";
  const consumer = await attach(etcd.consumer, key);
  const target = (await storeRevision(etcd.writer)) + sizes.throughputPuts;
  const arrived = consumer.arrivals.until(target);
  const start = now();
  const highest = await putConcurrently(sizes.throughputPuts, sizes.inFlight, (i) =>
    etcd.writer.put(key).value(`v${i}`).exec(),
  );
  if (highest !== target) throw new Error(`another writer: revision ${highest}, not ${target}`);
  const elapsed = (await arrived) - start;
  await consumer.close();
  return sizes.throughputPuts / (elapsed / 1000);
}

/**
 * A cross-check of row 4 with both consumers attached at once (attach order alternating
 * per round): for each put, both latencies. External noise (other processes, etcd's own
 * pauses) then hits both sides of a put alike, but whichever event is handled first
 * delays the other by its handling (a few µs), so differences are diluted.
 */
async function sharedLatencyRound(
  etcd: BenchEtcd,
  puts: number,
  oursFirst: boolean,
): Promise<{ ours: number[]; baseline: number[] }> {
  const key = "/bench/latency";
  const first = await (oursFirst ? oursConsumer : rawConsumer)(etcd.consumer, key);
  const second = await (oursFirst ? rawConsumer : oursConsumer)(etcd.consumer, key);
  const [ours, raw] = oursFirst ? [first, second] : [second, first];
  let revision = await storeRevision(etcd.writer);
  const samples = { ours: [] as number[], baseline: [] as number[] };
  for (let i = 0; i < puts; i++) {
    const expected = revision + 1;
    const arrived = Promise.all([ours.arrivals.until(expected), raw.arrivals.until(expected)]);
    const start = now();
    const response = await etcd.writer.put(key).value(`v${i}`).exec();
    revision = Number(response.header.revision);
    if (revision !== expected) throw new Error(`another writer: revision ${revision}`);
    const [oursAt, rawAt] = await arrived;
    samples.ours.push(oursAt - start);
    samples.baseline.push(rawAt - start);
  }
  await ours.close();
  await raw.close();
  return samples;
}

/** Row 4 (two rows: p50, p99). */
export async function latencyRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  const puts = sizes.latencyPuts;
  const warmUpPuts = Math.min(4000, 20 * puts);
  const sharedPuts = Math.min(2000, 10 * puts);
  // The JIT needs a few thousand puts on each path before latencies settle (seen: the
  // first 2000 of each side 10–60% slower): each side warms up first, unmeasured. Rounds
  // are short because etcd's own put latency drifts by ±30% over seconds on this shared
  // machine (rounds of 2000 puts gave per-round ratios from 0.86 to 1.53, following the
  // put round trip); with short alternating rounds both sides sample the same drift.
  const result = await alternate(
    sizes.latencyRounds,
    () => latencyRound(etcd, oursConsumer, puts),
    () => latencyRound(etcd, rawConsumer, puts),
    {
      ours: () => latencyRound(etcd, oursConsumer, warmUpPuts),
      baseline: () => latencyRound(etcd, rawConsumer, warmUpPuts),
    },
    10,
  );
  const shared = { ours: [] as number[], baseline: [] as number[] };
  for (let round = 0; round < sizes.sharedLatencyRounds; round++) {
    await settle();
    const samples = await sharedLatencyRound(etcd, sharedPuts, round % 2 === 0);
    shared.ours.push(...samples.ours);
    shared.baseline.push(...samples.baseline);
  }
  const all = { ours: result.ours.flat(), baseline: result.baseline.flat() };
  const rows: Row[] = [];
  for (const [p, max] of [
    [50, 1.1],
    [99, 1.25],
  ] as const) {
    const ours = percentile(all.ours, p);
    const baseline = percentile(all.baseline, p);
    const sharedOurs = percentile(shared.ours, p);
    const sharedBaseline = percentile(shared.baseline, p);
    const measurement = `put→get latency on one key, p${p}, ${all.ours.length.toLocaleString("en-US")} puts per side`;
    const fields = { id: 4, measurement, unit: "ms", ours, baseline, baselineName: RAW };
    rows.push(
      ratioAtMostRow(
        {
          ...fields,
          note:
            `p${p} of all samples of ${sizes.latencyRounds} alternating rounds of ${puts} sequential puts per side (one side attached at a time, after ${warmUpPuts} unmeasured warm-up puts each). ` +
            `Cross-check with both attached, the same ${shared.ours.length.toLocaleString("en-US")} puts measured on both: ${fmt(sharedOurs)} vs ${fmt(sharedBaseline)} ms (ratio ${fmt(sharedOurs / sharedBaseline)}).` +
            (p === 99
              ? " With other work on the machine (load average 1–6), this p99 ratio has ranged from 0.89 to 1.78 between runs, one run of two missing the target: the slow samples are spread evenly over the rounds, as many exceed 1 ms on each side, and with both attached the same puts give 0.96–1.07; the library's own time from data to get() returning is 11–26 µs at p99."
              : ""),
        },
        max,
        max.toFixed(2),
      ),
    );
  }
  return rows;
}

/**
 * One round of row 5 with both consumers attached to the key at once (attached in the
 * order given): the same puts reach both, so the write rate, which varies ±20% between
 * rounds on a shared machine, is the same for both, and what differs is how soon each
 * consumer holds the last revision.
 */
async function sharedThroughputRound(
  etcd: BenchEtcd,
  sizes: EtcdSizes,
  oursFirst: boolean,
): Promise<{ ours: number; baseline: number }> {
  const key = "/bench/throughput";
  const first = await (oursFirst ? oursConsumer : rawConsumer)(etcd.consumer, key);
  const second = await (oursFirst ? rawConsumer : oursConsumer)(etcd.consumer, key);
  const [ours, raw] = oursFirst ? [first, second] : [second, first];
  const target = (await storeRevision(etcd.writer)) + sizes.throughputPuts;
  const arrivedOurs = ours.arrivals.until(target);
  const arrivedRaw = raw.arrivals.until(target);
  const start = now();
  const highest = await putConcurrently(sizes.throughputPuts, sizes.inFlight, (i) =>
    etcd.writer.put(key).value(`v${i}`).exec(),
  );
  if (highest !== target) throw new Error(`another writer: revision ${highest}, not ${target}`);
  const rate = (at: number): number => sizes.throughputPuts / ((at - start) / 1000);
  const result = { ours: rate(await arrivedOurs), baseline: rate(await arrivedRaw) };
  await ours.close();
  await raw.close();
  return result;
}

/**
 * Row 5: the figure is from rounds with both consumers attached (see
 * {@link sharedThroughputRound}); rounds with one consumer at a time, alternating, are
 * reported in the note (their ratio is the median of the per-round pairs).
 */
export async function throughputRow(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row> {
  const warmUpSizes = { ...sizes, throughputPuts: Math.min(2000, sizes.throughputPuts) };
  await sharedThroughputRound(etcd, warmUpSizes, true);
  const shared = { ours: [] as number[], baseline: [] as number[] };
  for (let round = 0; round < sizes.throughputRounds; round++) {
    await settle();
    const result = await sharedThroughputRound(etcd, sizes, round % 2 === 0);
    shared.ours.push(result.ours);
    shared.baseline.push(result.baseline);
  }
  const alone = await alternate(
    sizes.rounds,
    () => throughputRound(etcd, oursConsumer, sizes),
    () => throughputRound(etcd, rawConsumer, sizes),
  );
  const ours = median(shared.ours);
  const baseline = median(shared.baseline);
  const ratio = ours / baseline;
  const aloneRatios = alone.ours.map((o, i) => o / (alone.baseline[i] as number));
  return {
    id: 5,
    measurement: `throughput, ${sizes.throughputPuts.toLocaleString("en-US")} puts to one key, ${sizes.inFlight} in flight, both attached`,
    unit: "events/s",
    ours,
    baseline,
    baselineName: RAW,
    ratio,
    target: "ratio ≥ 0.95",
    pass: ratio >= 0.95,
    note:
      `from just before the first put to the consumer holding the last revision, one writer client; median of ${sizes.throughputRounds} rounds with both consumers attached (attach order alternating). ` +
      `One consumer at a time instead (${sizes.rounds} alternating rounds): ${fmt(median(alone.ours))} vs ${fmt(median(alone.baseline))} events/s, ` +
      `per-round ratios ${aloneRatios.map((r) => r.toFixed(2)).join(", ")} (median ${fmt(median(aloneRatios))}): the write path is the limit and varies ±20% between rounds on this shared machine.`,
  };
}
