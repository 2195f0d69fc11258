/**
 * What the etcd rows (4–10) share: their sizes, the etcd member they run against, the
 * writer, and small measuring helpers.
 */

import { setTimeout as delay } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Etcd3 } from "etcd3";
import { createEtcdClient, type EventValue, type WatchStatus } from "../src/index.js";
import { type EtcdCluster, startCluster } from "../test/harness/etcd-cluster.js";
import { requestJson, requestText } from "../test/harness/etcd-http.js";

/** Sizes of a run of the etcd rows: the real ones, or tiny ones for the smoke test. */
export interface EtcdSizes {
  /** Rounds per side of every row (the figures are medians over them). */
  rounds: number;
  /** Row 4: sequential puts per side and round; rounds; rounds with both attached. */
  latencyPuts: number;
  latencyRounds: number;
  sharedLatencyRounds: number;
  /** Row 5: puts per side and round; rounds (the write rate varies most between rounds). */
  throughputPuts: number;
  throughputRounds: number;
  /** Rows 5, 6, 8: puts in flight at once. */
  inFlight: number;
  /** Row 6: watchers of the one key, then puts to it. */
  fanOutWatchers: number;
  fanOutPuts: number;
  /** Row 7: keys under the prefix. */
  manyKeys: number;
  /** The figure: row 7 measured at each of these numbers of keys, `curveRounds` rounds each. */
  curveKeys: readonly number[];
  curveRounds: number;
  /** Row 15: numbers of distinct keys (one value each), one set of figures per number. */
  distinctKeys: readonly number[];
  /** Row 15: rounds per side and number of keys, sides alternating (medians reported). */
  distinctRounds: number;
  /** Row 15: how long etcd's idle CPU is measured, in ms. */
  idleMs: number;
  /** Row 15: rounds per side and number of keys on a member of their own (RSS, idle CPU). */
  memberRounds: number;
  /** Row 8: puts while the consumer is stalled, spread over `stalledKeys` keys. */
  stalledPuts: number;
  stalledKeys: number;
  /**
   * Row 8: puts the consumer reads normally before it stalls, so that V8's young
   * generation has grown to its working size (32 MiB; it doubles from 16 MiB after
   * 20,000–60,000 events, on both sides, and that growth is no data kept).
   */
  warmUpPuts: number;
  /** Row 8: rounds per side (each is a child process and ~120,000 puts). */
  slowRounds: number;
  /** Row 9: keys of the range loaded. */
  loadKeys: number;
  /** Row 10: kill -9 and restart cycles per downtime; bound on waiting for a watcher, in ms. */
  reconnectRounds: number;
  /** Row 10: how long the member stays down before it is started again, in ms (one row each). */
  reconnectDownMs: readonly number[];
  reconnectCapMs: number;
  /** Row 11: increments per updater and round (8 updaters). */
  updateIncrements: number;
  /** Row 12: sequential writes per side and round; rounds. */
  setWrites: number;
  setRounds: number;
  /**
   * Row 13: child ava runs of the suites per side (0: no suites row); only the tests
   * matching (ava's --match), and then only the first suite file.
   */
  suiteRounds: number;
  suiteMatch: string | undefined;
  /** Row 14: lock acquisitions per contender and round. */
  lockAcquisitions: number;
  /** Row 16: the leases' TTL (s); rounds per side with the leader killed, and resigning. */
  failoverTtl: number;
  failoverKillRounds: number;
  failoverResignRounds: number;
  /** Row 17: the lease's TTL (s); rounds per side. */
  leaseLossTtl: number;
  leaseLossRounds: number;
}

export const FULL_ETCD_SIZES: EtcdSizes = {
  rounds: 5,
  latencyPuts: 200,
  latencyRounds: 100,
  sharedLatencyRounds: 4,
  throughputPuts: 20_000,
  throughputRounds: 9,
  inFlight: 64,
  fanOutWatchers: 1000,
  fanOutPuts: 1000,
  manyKeys: 10_000,
  curveKeys: [100, 300, 1000, 3000, 10_000],
  curveRounds: 3,
  distinctKeys: [1000, 10_000],
  distinctRounds: 3,
  idleMs: 10_000,
  memberRounds: 3,
  stalledPuts: 100_000,
  stalledKeys: 100,
  warmUpPuts: 60_000,
  slowRounds: 3,
  loadKeys: 100_000,
  reconnectRounds: 5,
  reconnectDownMs: [0, 10_000],
  reconnectCapMs: 45_000,
  updateIncrements: 250,
  setWrites: 200,
  setRounds: 50,
  suiteRounds: 5,
  suiteMatch: undefined,
  lockAcquisitions: 200,
  failoverTtl: 2,
  failoverKillRounds: 5,
  failoverResignRounds: 20,
  leaseLossTtl: 3,
  leaseLossRounds: 5,
};

export const SMOKE_ETCD_SIZES: EtcdSizes = {
  rounds: 1,
  latencyPuts: 30,
  latencyRounds: 2,
  sharedLatencyRounds: 1,
  throughputPuts: 200,
  throughputRounds: 1,
  inFlight: 16,
  fanOutWatchers: 20,
  fanOutPuts: 20,
  manyKeys: 100,
  curveKeys: [10, 30],
  curveRounds: 1,
  distinctKeys: [50],
  distinctRounds: 1,
  idleMs: 200,
  memberRounds: 1,
  stalledPuts: 500,
  stalledKeys: 10,
  warmUpPuts: 100,
  slowRounds: 1,
  loadKeys: 1000,
  reconnectRounds: 1,
  reconnectDownMs: [0],
  reconnectCapMs: 2000,
  updateIncrements: 5,
  setWrites: 20,
  setRounds: 2,
  suiteRounds: 0,
  suiteMatch: "*get: an empty value is present*",
  lockAcquisitions: 5,
  failoverTtl: 2,
  failoverKillRounds: 1,
  failoverResignRounds: 1,
  leaseLossTtl: 2,
  leaseLossRounds: 1,
};

/** The etcd member of a benchmark run and the clients every row uses. */
export interface BenchEtcd {
  readonly cluster: EtcdCluster;
  /** The member's client URL. */
  readonly endpoint: string;
  /** The member's etcd version, e.g. `3.4.23`. */
  readonly version: string;
  /** Writes for both sides of every row (its own gRPC connection). */
  readonly writer: Etcd3;
  /** The consumers' client, shared by event-value and the raw baseline (createEtcdClient). */
  readonly consumer: Etcd3;
}

/**
 * Starts one etcd member through the test harness (loopback, data dir on tmpfs,
 * `--unsafe-no-fsync`), and the writer and consumer clients.
 */
export async function startBenchEtcd(): Promise<BenchEtcd> {
  const cluster = await startCluster({ members: 1, memberControl: true });
  const endpoint = cluster.endpoints[0] as string;
  let info: { etcdserver?: string };
  try {
    info = (await requestJson(endpoint, "/version", undefined, 5000)) as typeof info;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const writer = createEtcdClient({ hosts: [endpoint] });
  const consumer = createEtcdClient({ hosts: [endpoint] });
  return { cluster, endpoint, version: info.etcdserver ?? "(unknown version)", writer, consumer };
}

/** Closes the clients and stops the member. */
export async function stopBenchEtcd(etcd: BenchEtcd): Promise<void> {
  etcd.writer.close();
  etcd.consumer.close();
  await etcd.cluster.stop();
}

/**
 * Runs `measure` on a member of its own, started as {@link startBenchEtcd} does and
 * stopped after: for figures that a round before it on the same member would skew, such
 * as the member's RSS (Go keeps what a round freed, or gives some of it back during the
 * next).
 */
export async function onOwnMember<R>(measure: (etcd: BenchEtcd) => Promise<R>): Promise<R> {
  const etcd = await startBenchEtcd();
  try {
    return await measure(etcd);
  } finally {
    await stopBenchEtcd(etcd);
  }
}

let gcFunction: (() => void) | undefined;

/** A full garbage collection (`--expose-gc` switched on at run time). */
export function gc(): void {
  if (gcFunction === undefined) {
    setFlagsFromString("--expose-gc");
    gcFunction = runInNewContext("gc") as () => void;
  }
  gcFunction();
}

/**
 * {@link heapBytes} of what stays after a set-up: once the event loop has turned (a gRPC
 * call whose answer just arrived is released by Node's HTTP/2 stream a tick later; a
 * set-up that ends in the tick of its last answer would count that answer as kept), and
 * after a full GC.
 */
export async function keptHeapBytes(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
  return heapBytes();
}

/** Heap in use plus the memory of ArrayBuffers (Buffers' bytes live outside the heap). */
export function heapBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** The current store revision, read through `client`. */
export async function storeRevision(client: Etcd3): Promise<number> {
  const response = await client.kv.range({ key: Buffer.from("\0"), count_only: true });
  return Number(response.header.revision);
}

/**
 * Runs `count` puts through `writer`, at most `inFlight` at once; `put(i)` makes the
 * i-th. Resolves with the highest revision written.
 */
export async function putConcurrently(
  count: number,
  inFlight: number,
  put: (i: number) => Promise<{ header: { revision: string } }>,
): Promise<number> {
  let next = 0;
  let highest = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const response = await put(i);
      highest = Math.max(highest, Number(response.header.revision));
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return highest;
}

/** etcd's default `--max-txn-ops`. */
const TXN_OPS = 128;

/** Writes `count` keys `key(i)` with values `value(i)`, 128 per transaction. */
export async function loadKeys(
  writer: Etcd3,
  count: number,
  key: (i: number) => string,
  value: (i: number) => string,
): Promise<void> {
  const batches: number[] = [];
  for (let i = 0; i < count; i += TXN_OPS) batches.push(i);
  await putConcurrently(batches.length, 8, async (b) => {
    const from = batches[b] as number;
    const to = Math.min(count, from + TXN_OPS);
    const success = [];
    for (let i = from; i < to; i++) {
      success.push({ request_put: { key: Buffer.from(key(i)), value: Buffer.from(value(i)) } });
    }
    return writer.kv.txn({ success });
  });
}

/** Waits until `status` reports `live`. */
export async function untilLive(status: EventValue<WatchStatus>): Promise<void> {
  const watcher = status.watch();
  try {
    await watcher.get({ filter: (s) => s.state === "live" });
  } finally {
    watcher.close();
  }
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function now(): number {
  return performance.now();
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/**
 * Runs `rounds` rounds of both sides, alternating which goes first (ours first in even
 * rounds), and returns each side's results in round order. With `warmUp`, each side first
 * runs it once, unmeasured (so neither side pays for the JIT compiling shared code). Runs
 * are `pauseMs` apart (see {@link settle}).
 */
export async function alternate<R>(
  rounds: number,
  ours: (round: number) => Promise<R>,
  baseline: (round: number) => Promise<R>,
  warmUp?: { ours: () => Promise<unknown>; baseline: () => Promise<unknown> },
  pauseMs = SETTLE_MS,
): Promise<{ ours: R[]; baseline: R[] }> {
  if (warmUp !== undefined) {
    await warmUp.ours();
    await warmUp.baseline();
  }
  const result: { ours: R[]; baseline: R[] } = { ours: [], baseline: [] };
  for (let round = 0; round < rounds; round++) {
    await settle(pauseMs);
    if (round % 2 === 0) {
      result.ours.push(await ours(round));
      await settle(pauseMs);
      result.baseline.push(await baseline(round));
    } else {
      result.baseline.push(await baseline(round));
      await settle(pauseMs);
      result.ours.push(await ours(round));
    }
  }
  return result;
}

/**
 * Between two timed runs: lets the previous one's trailing work finish (cancel answers,
 * closing streams). No forced GC here: right after a full `gc()` the next few
 * milliseconds of any code run 2–3× slower (an attach of 1000 watchers: 4.4 ms → 10.5 ms
 * median), which would penalise whichever side is measured in milliseconds.
 */
export async function settle(ms = SETTLE_MS): Promise<void> {
  await delay(ms);
}

const SETTLE_MS = 100;

/** A promise and its resolver. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * The highest revision a consumer holds, and promises of the moment it first held at
 * least a given revision. Both sides of a row record into one of these the same way.
 */
export class Arrivals {
  #revision = 0;
  #waiters: { target: number; resolve: (at: number) => void }[] = [];

  /** The highest revision seen. */
  get revision(): number {
    return this.#revision;
  }

  /** The consumer holds `revision` now. */
  seen(revision: number): void {
    if (revision <= this.#revision) return;
    this.#revision = revision;
    if (this.#waiters.length === 0) return;
    const at = now();
    const still = [];
    for (const waiter of this.#waiters) {
      if (waiter.target <= revision) waiter.resolve(at);
      else still.push(waiter);
    }
    this.#waiters = still;
  }

  /** Resolves with the time (`now()`) the consumer first held `target` or higher. */
  until(target: number): Promise<number> {
    if (this.#revision >= target) return Promise.resolve(now());
    return new Promise((resolve) => this.#waiters.push({ target, resolve }));
  }
}

/** What the benchmark member reports on its `/metrics`. */
export interface MemberMetrics {
  /** Resident memory, bytes. */
  readonly rss: number;
  /** CPU used since it started, seconds. */
  readonly cpu: number;
  /**
   * gRPC requests started, by etcd method (`Range`, `Txn`, `LeaseGrant`, …), and
   * `Watch messages`: creates and cancels received on watch streams, which are messages,
   * not calls.
   */
  readonly calls: ReadonlyMap<string, number>;
}

/** Reads the benchmark member's `/metrics`. */
export async function memberMetrics(etcd: BenchEtcd): Promise<MemberMetrics> {
  const { text } = await requestText(etcd.endpoint, "/metrics", undefined, 20_000);
  const value = (name: string): number => {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`etcd's /metrics has no ${name}`);
    return Number(line.slice(name.length + 1));
  };
  const calls = new Map<string, number>();
  for (const line of text.split("\n")) {
    const started =
      /^grpc_server_started_total\{grpc_method="(\w+)",grpc_service="etcdserverpb\.\w+".* (\d+)$/.exec(
        line,
      );
    if (started !== null) calls.set(started[1] as string, Number(started[2]));
    const watch =
      /^grpc_server_msg_received_total\{grpc_method="Watch",grpc_service="etcdserverpb\.Watch".* (\d+)$/.exec(
        line,
      );
    if (watch !== null) calls.set("Watch messages", Number(watch[1]));
  }
  return {
    rss: value("process_resident_memory_bytes"),
    cpu: value("process_cpu_seconds_total"),
    calls,
  };
}
