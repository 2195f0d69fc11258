/**
 * Rows 11 and 12: writes.
 *
 * - Row 11: `update()` throughput under contention. 8 updaters, each on its own client
 *   (createEtcdClient), increment one JSON counter until each has added its share; every
 *   increment is one `EtcdValue.update((n) => n + 1)` on event-value's side, one
 *   `client.stm().transact(...)` (etcd3's software transactions, isolation
 *   SerializableSnapshot, retries unbounded) reading and writing the counter on the
 *   baseline's. From the first increment to the last one acknowledged; each round checks
 *   that the counter ends at exactly the number of increments. Rounds alternate which
 *   side goes first, on a fresh key each.
 * - Row 12: `set()` latency: sequential writes of a small value to one key, one client;
 *   `EtcdValue.set(v)` against `client.put(key).value(v)`. Within a round the two sides
 *   alternate write by write (which goes first alternates per round), so both sample the
 *   same moments of the machine's and etcd's drift.
 */

import type { Etcd3 } from "etcd3";
import { codecs, createEtcdClient, EtcdValue } from "../src/index.js";
import {
  alternate,
  type BenchEtcd,
  type EtcdSizes,
  now,
  percentile,
  settle,
} from "./etcd-common.js";
import { fmt, median, type Row, ratioAtMostRow } from "./report.js";

const UPDATERS = 8;

/** Increments of one round: `updaters` workers × `each`, each with its own client. */
async function contendedRound(
  clients: readonly Etcd3[],
  key: string,
  each: number,
  increment: (client: Etcd3, index: number) => Promise<void>,
): Promise<number> {
  const start = now();
  await Promise.all(
    clients.map(async (client, index) => {
      for (let i = 0; i < each; i++) await increment(client, index);
    }),
  );
  const elapsed = now() - start;
  const stored = await clients[0]?.get(key).string();
  const expected = clients.length * each;
  if (Number(stored) !== expected) {
    throw new Error(`counter ${key} ended at ${stored}, not ${expected}`);
  }
  return expected / (elapsed / 1000);
}

let rounds = 0;

/** event-value: one `EtcdValue` per updater, `update((n) => n + 1)`. */
async function oursUpdateRound(clients: readonly Etcd3[], each: number): Promise<number> {
  const key = `/bench/update/${++rounds}`;
  const values = clients.map(
    (client) => new EtcdValue(client, key, { codec: codecs.json<number>() }),
  );
  return contendedRound(clients, key, each, async (_, index) => {
    const result = await (values[index] as EtcdValue<number>).update((n) => (n ?? 0) + 1);
    if (!result.ok) throw new Error(`update refused: ${JSON.stringify(result)}`);
  });
}

/** The baseline: etcd3's STM (SerializableSnapshot, the default), retried until it commits. */
async function stmUpdateRound(clients: readonly Etcd3[], each: number): Promise<number> {
  const key = `/bench/update/${++rounds}`;
  return contendedRound(clients, key, each, (client) =>
    client.stm({ retries: Number.MAX_SAFE_INTEGER }).transact(async (tx) => {
      const current = await tx.get(key).string();
      await tx.put(key).value(String(Number(current ?? 0) + 1));
    }),
  );
}

/** Row 11. */
export async function updateRow(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row> {
  const clients = Array.from({ length: UPDATERS }, () =>
    createEtcdClient({ hosts: [etcd.endpoint] }),
  );
  const each = sizes.updateIncrements;
  try {
    const result = await alternate(
      sizes.rounds,
      () => oursUpdateRound(clients, each),
      () => stmUpdateRound(clients, each),
      {
        ours: () => oursUpdateRound(clients, Math.ceil(each / 5)),
        baseline: () => stmUpdateRound(clients, Math.ceil(each / 5)),
      },
    );
    const ours = median(result.ours);
    const baseline = median(result.baseline);
    const ratio = ours / baseline;
    return {
      id: 11,
      measurement: `update() throughput: ${UPDATERS} updaters on separate clients, ${each} increments each, one JSON counter`,
      unit: "increments/s",
      ours,
      baseline,
      baselineName: "etcd3 client.stm(), SerializableSnapshot",
      ratio,
      target: "ratio ≥ 1.0",
      pass: ratio >= 1,
      note: `every round ends at exactly ${UPDATERS * each}, on both sides; per-round figures: ${result.ours.map(fmt).join(", ")} vs ${result.baseline.map(fmt).join(", ")} increments/s. A conflict costs event-value one round trip (the refused transaction returns the newer value) and a short random delay that spreads the contenders; the STM reads again and retries at once.`,
    };
  } finally {
    for (const client of clients) client.close();
  }
}

/** One round of row 12: latency samples of each side, in ms. */
async function setLatencyRound(
  etcd: BenchEtcd,
  writes: number,
  oursFirst: boolean,
): Promise<{ ours: number[]; baseline: number[] }> {
  const key = "/bench/set";
  const value = new EtcdValue(etcd.writer, key, { codec: codecs.text });
  const samples = { ours: [] as number[], baseline: [] as number[] };
  const ours = async (i: number): Promise<void> => {
    const start = now();
    const result = await value.set(`v${i}`);
    samples.ours.push(now() - start);
    if (!result.ok) throw new Error("set refused");
  };
  const raw = async (i: number): Promise<void> => {
    const start = now();
    await etcd.writer.put(key).value(`v${i}`);
    samples.baseline.push(now() - start);
  };
  for (let i = 0; i < writes; i++) {
    if (oursFirst) {
      await ours(i);
      await raw(i);
    } else {
      await raw(i);
      await ours(i);
    }
  }
  return samples;
}

/** Row 12 (two rows: p50, p99). */
export async function setLatencyRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  await setLatencyRound(etcd, Math.min(2000, 10 * sizes.setWrites), true); // warm-up
  const all = { ours: [] as number[], baseline: [] as number[] };
  for (let round = 0; round < sizes.setRounds; round++) {
    await settle();
    const samples = await setLatencyRound(etcd, sizes.setWrites, round % 2 === 0);
    all.ours.push(...samples.ours);
    all.baseline.push(...samples.baseline);
  }
  return [
    [50, 1.1],
    [99, 1.25],
  ].map(([p, max]) =>
    ratioAtMostRow(
      {
        id: 12,
        measurement: `set() latency, p${p}, ${all.ours.length.toLocaleString("en-US")} sequential writes per side`,
        unit: "ms",
        ours: percentile(all.ours, p as number),
        baseline: percentile(all.baseline, p as number),
        baselineName: "etcd3 client.put()",
        ...(p === 50
          ? {
              note: `${sizes.setRounds} rounds of ${sizes.setWrites} writes per side, the sides alternating write by write (first side alternating per round), one client, after unmeasured warm-up writes; from the call to the resolved promise.`,
            }
          : {}),
      },
      max as number,
      (max as number).toFixed(2),
    ),
  );
}
