/**
 * Seeded chaos against a three-member cluster. The clients under test reach the members
 * only through per-member TCP proxies (`test/harness/tcp-proxy.ts`) that pass, drop or
 * black-hole their links. Writers put, delete and transact on a few dozen keys of a range
 * (through a client of their own, straight to the members, retrying while quorum is
 * lost) while a schedule drawn from the seed kills, restarts, freezes and thaws members,
 * breaks and heals links, compacts, and takes two members down for a while; it always
 * ends with every member up and every link passing.
 *
 * Watchers under test, on a `createEtcdClient` client and on a plain `new Etcd3({ hosts })`
 * (both on the three proxies): an `EtcdValue` of one key, an `EtcdRangeValue` per-key
 * `watch()` and its `snapshots()` (the range read in pages of 8 keys, so that each read
 * takes several pages and creates its watch after the first). Checked for each:
 * revisions never go backwards, no update is returned twice for a revision (per key for
 * the per-key watcher), and within 15 s of the end the watcher holds exactly etcd's final
 * state (keys, values, revisions; for the `EtcdValue` of a key absent at the end, a
 * revision no older than its last acknowledged change, unless compaction may have
 * discarded that change).
 *
 * `npm test` runs the seeds of `CI_SEEDS`, each in about 12–25 s (bound: 60 s). A failure
 * prints the seed, the schedule with when each step ran, and every value's status trail;
 * repeat it with `CHAOS_SEED=1234 npx ava test/etcd/chaos.test.ts` (any integer seed).
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { setTimeout as delay } from "node:timers/promises";
import test, { type ExecutionContext } from "ava";
import { Etcd3, type IRequestOp } from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import type { EtcdValueOptions } from "../../src/etcd-types/value-options.js";
import {
  createEtcdClient,
  type Decoder,
  decoders,
  ETCD_WATCH_CHANNEL,
  EtcdRangeValue,
  EtcdValue,
  type EtcdWatchMessage,
  type EventValue,
  type Watcher,
  type WatchStatus,
} from "../../src/index.js";
import type { TcpProxy } from "../harness/tcp-proxy.js";
import {
  type Compaction,
  repairAll,
  runSchedule,
  withChaosTarget,
} from "../helpers/chaos-faults.js";
import {
  type FinalState,
  KeyRecorder,
  RangeKeyRecorder,
  SnapshotRecorder,
  type WatcherUnderTest,
} from "../helpers/chaos-recorders.js";
import { formatSchedule, makeSchedule, Random } from "../helpers/chaos-schedule.js";
import { deadline } from "../helpers/faults.js";

/** Seeds run by `npm test`; `CHAOS_SEED` runs that one seed instead. */
const CI_SEEDS = [1, 2, 3];
/** Random steps per run (the repairs at the end come on top). */
const STEPS = 14;
/** Keys in the range; key 0 is also watched alone, and written more often. */
const KEYS = 30;
const WRITERS = 2;
/** Bound on every watcher reaching etcd's final state once the faults have stopped. */
const CONVERGE_MS = 15_000;
/** Soft timeout of one write attempt (a write to a frozen member never answers). */
const WRITE_TIMEOUT_MS = 2000;
/** Bound on one run: schedule, repairs, settling and convergence (they take 15–35 s). */
const RUN_BOUND_MS = 60_000;

const chaosTarget = withChaosTarget(test);

const seeds = process.env.CHAOS_SEED === undefined ? CI_SEEDS : [Number(process.env.CHAOS_SEED)];
for (const seed of seeds) {
  if (!Number.isSafeInteger(seed)) throw new Error(`CHAOS_SEED must be an integer, got ${seed}`);
  test.serial(
    `chaos, seed ${seed}: kills, freezes, dropped and black-holed links, compaction, quorum loss: every watcher keeps its order and reaches etcd's final state`,
    (t) => runChaos(t, seed),
  );
}

async function runChaos(t: ExecutionContext, seed: number): Promise<void> {
  const started = Date.now();
  const target = await chaosTarget();
  const { cluster, proxies } = target;
  const schedule = makeSchedule(seed, { steps: STEPS, members: 3 });
  const ran: (number | undefined)[] = [];
  const repeat = `CHAOS_SEED=${seed} npx ava test/etcd/chaos.test.ts`;
  const report = (): string =>
    `seed ${seed} (repeat: ${repeat})\nschedule:\n${formatSchedule(schedule, ran)}`;
  t.timeout(RUN_BOUND_MS, `seed ${seed}: the run's bound (repeat: ${repeat})`);
  t.log(`seed ${seed}; repeat with: ${repeat}\nplanned schedule:\n${formatSchedule(schedule)}`);
  t.teardown(() => repairAll(target));
  const events = countWatchEvents();
  t.teardown(events.stop);

  const prefix = `/chaos/${seed}/`;
  const keys = Array.from({ length: KEYS }, (_, i) => `${prefix}k${String(i).padStart(2, "0")}`);
  const random = new Random(seed ^ 0x5eed);
  const writes = createEtcdClient({ hosts: [...cluster.endpoints] });
  t.teardown(() => writes.close());
  for (const key of keys) {
    if (random.chance(0.5)) await writes.put(key).value(`${seed}.init.${key}`);
  }

  // The clients under test, on the proxies only.
  const hosts = proxies.map((proxy) => proxy.url);
  const recommended = createEtcdClient({ hosts });
  const plain = new Etcd3({ hosts });
  const key0 = keys[0] as string;
  const recorders: WatcherUnderTest[] = [];
  const trails: StatusTrail[] = [];
  for (const [name, client] of [
    ["recommended", recommended],
    ["plain", plain],
  ] as const) {
    const oneTrail = new StatusTrail(`${name} EtcdValue`, proxies);
    const rangeTrail = new StatusTrail(`${name} range`, proxies);
    const one = new EtcdValue(client, key0, oneTrail.options(decoders.text));
    // Pages of 8 keys: each read of the range takes several pages, so that its watch is
    // created after the first page, while the fault plan runs.
    const range = new EtcdRangeValue(client, { prefix }, rangeTrail.options(decoders.text, 8));
    oneTrail.follow(one);
    rangeTrail.follow(range);
    trails.push(oneTrail, rangeTrail);
    recorders.push(
      new KeyRecorder(`${name} EtcdValue`, key0, one.watch()),
      new RangeKeyRecorder(`${name} range watch()`, range.watch()),
      new SnapshotRecorder(`${name} range snapshots()`, range.snapshots().watch()),
    );
  }
  t.teardown(async () => {
    await Promise.all(recorders.map((recorder) => recorder.close()));
    await Promise.all(trails.map((trail) => trail.close()));
    recommended.close();
    plain.close();
  });

  const writers = new Writers(writes, keys, seed);
  const compaction: Compaction = { upTo: 0 };
  const initial = await readFinal(writes, prefix, writers, compaction);
  const late = await convergeAll(recorders, initial, Date.now() + CONVERGE_MS);
  if (late.length > 0) {
    t.fail(`before any fault, watchers did not load the initial state:\n${late.join("\n")}`);
    return;
  }

  // The faults.
  writers.start();
  const faultsFrom = Date.now();
  await runSchedule(target, schedule, ran, compaction, (line) => t.log(line));
  const healedAt = Date.now();
  await cluster.waitHealthy();
  await writers.stop();
  const faultsMs = healedAt - faultsFrom;

  // The end: every watcher at etcd's final state, within CONVERGE_MS. A write that timed
  // out may be committed after the writers stopped (trap 17): wait for every attempt to
  // settle, and should the state still move after the final read, read it again.
  await writers.settled(5000);
  let final = await readFinal(writes, prefix, writers, compaction);
  const until = Date.now() + CONVERGE_MS;
  let mismatches = await convergeAll(recorders, final, until);
  for (let again = 0; mismatches.length > 0 && again < 2; again++) {
    const moved = await readFinal(writes, prefix, writers, compaction);
    if (moved.revision === final.revision) break;
    t.log(`etcd's state moved after the final read, from ${final.revision} to ${moved.revision}`);
    final = moved;
    mismatches = await convergeAll(recorders, final, Math.max(until, Date.now() + 2000));
  }
  const convergedMs = Date.now() - healedAt;
  const violations = recorders.flatMap((recorder) =>
    recorder.violations.map((violation) => `${recorder.name}: ${violation}`),
  );
  const summaries = recorders.map((recorder) => `  ${recorder.name}: ${recorder.summary()}`);
  t.log(
    `${writers.ops} writes (${writers.failures} failed attempts retried), final revision ${final.revision}, ${final.kvs.size} keys; faults ${faultsMs} ms, every watcher at the final state ${convergedMs} ms after the last repair, run ${Date.now() - started} ms\nlibrary: ${events.summary()}; errors: ${errorCounts(trails)}\n${summaries.join("\n")}`,
  );
  t.log(report());
  if (violations.length > 0 || mismatches.length > 0) {
    t.log(
      `status trails (ms since the faults began):\n${trails.map((trail) => trail.format(faultsFrom)).join("\n")}`,
    );
    t.fail(
      [
        `seed ${seed}: repeat with ${repeat}`,
        ...violations.map((violation) => `invariant broken: ${violation}`),
        ...mismatches.map(
          (mismatch) => `not at etcd's final state within ${CONVERGE_MS} ms: ${mismatch}`,
        ),
      ].join("\n"),
    );
    return;
  }
  t.pass();
}

/**
 * Every status of a value and the member of every etcd watch it created, with times,
 * for the report of a failed run.
 */
class StatusTrail {
  /** How many times each transient error (by name) was reported. */
  readonly errors = new Map<string, number>();
  readonly #lines: { at: number; text: string }[] = [];
  #watcher: Watcher<WatchStatus> | undefined;
  #loop: Promise<void> = Promise.resolve();

  readonly #proxies: readonly TcpProxy[];

  constructor(
    readonly name: string,
    proxies: readonly TcpProxy[],
  ) {
    this.#proxies = proxies;
  }

  /**
   * Options for the value: a hook noting where each watch is created; `pageSize` (for a
   * range): keys per page of its reads.
   */
  options<T>(decoder: Decoder<T>, pageSize?: number): EtcdValueOptions<T> {
    const watchCreated = (_call: unknown, member: string | undefined): void => {
      const index = this.#proxies.findIndex((proxy) =>
        proxy.url.endsWith(`:${member?.split(":")[1]}`),
      );
      this.#lines.push({ at: Date.now(), text: `watch created on m${index}` });
    };
    const tuning = pageSize === undefined ? {} : { tuning: { pageSize } };
    return withInternal({ decoder }, { hooks: { watchCreated }, ...tuning });
  }

  follow(value: { status(): EventValue<WatchStatus> }): void {
    const watcher = value.status().watch();
    this.#watcher = watcher;
    this.#loop = (async () => {
      for await (const status of watcher) {
        const error = status.error === undefined ? "" : ` ${String(status.error)}`;
        if (status.error instanceof Error) {
          const name = status.error.name;
          this.errors.set(name, (this.errors.get(name) ?? 0) + 1);
        }
        this.#lines.push({
          at: status.since,
          text: `${status.state} @${status.revision ?? "-"}${error}`,
        });
      }
    })();
  }

  format(from: number): string {
    const lines = this.#lines.slice(-50).map(({ at, text }) => `    ${at - from} ${text}`);
    return `  ${this.name}:\n${lines.join("\n")}`;
  }

  close(): Promise<void> {
    this.#watcher?.close();
    return this.#loop;
  }
}

/** `RequestTimeoutError 3, CompactedError 4`: the transient errors of every value. */
function errorCounts(trails: readonly StatusTrail[]): string {
  const counts = new Map<string, number>();
  for (const trail of trails) {
    for (const [name, n] of trail.errors) counts.set(name, (counts.get(name) ?? 0) + n);
  }
  return [...counts].map(([name, n]) => `${name} ${n}`).join(", ");
}

/** Counts the library's watch diagnostics (both clients' values together). */
function countWatchEvents(): { summary(): string; stop(): void } {
  const counts = new Map<string, number>();
  const listener = (message: unknown): void => {
    const event = message as EtcdWatchMessage;
    const name = event.type === "watch-ended" ? `ended ${event.reason}` : event.type;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  };
  subscribe(ETCD_WATCH_CHANNEL, listener);
  return {
    summary: () => [...counts].map(([name, n]) => `${n} ${name}`).join(", "),
    stop: () => unsubscribe(ETCD_WATCH_CHANNEL, listener),
  };
}

/** Waits for every recorder at once; the mismatches left at `until` (a `Date.now()`). */
async function convergeAll(
  recorders: readonly WatcherUnderTest[],
  expected: FinalState,
  until: number,
): Promise<string[]> {
  const left = await Promise.all(
    recorders.map(async (recorder) => {
      const mismatch = await recorder.converge(expected, Math.max(0, until - Date.now()));
      return mismatch === undefined ? undefined : `${recorder.name}: ${mismatch}`;
    }),
  );
  return left.filter((mismatch) => mismatch !== undefined);
}

/**
 * etcd's state of the range by a linearizable read, retried while the cluster recovers.
 * A key absent at the end was last deleted at or after the last acknowledged write that
 * changed it; when compaction may have discarded that deletion, nothing is known.
 */
async function readFinal(
  client: Etcd3,
  prefix: string,
  writers: Writers,
  compaction: { readonly upTo: number },
): Promise<FinalState> {
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await client.getAll().prefix(prefix).exec();
      const kvs = new Map(
        response.kvs.map((kv) => [
          kv.key.toString(),
          { value: kv.value.toString(), modRevision: Number(kv.mod_revision) },
        ]),
      );
      return {
        revision: Number(response.header.revision),
        kvs,
        deletedNoEarlierThan: (key) => {
          const changed = writers.changedAt.get(key) ?? 0;
          return changed > compaction.upTo ? changed : 0;
        },
      };
    } catch (error) {
      if (Date.now() > until) throw new Error("the final read kept failing", { cause: error });
      await delay(100);
    }
  }
}

/** One write: puts and deletes, in one transaction when there are several. */
interface Write {
  readonly puts: ReadonlyMap<string, string>;
  readonly deletes: readonly string[];
}

/**
 * Writers putting and deleting random keys of the range, each write retried (after
 * 100 ms) until it succeeds or the writers stop. A write that timed out may still be
 * committed later (RELIABILITY.md, trap 17): the final state is read from etcd, never
 * inferred from the writes.
 */
class Writers {
  ops = 0;
  failures = 0;
  /** Per key, the revision of the last acknowledged write that changed it. */
  readonly changedAt = new Map<string, number>();
  readonly #client: Etcd3;
  readonly #keys: readonly string[];
  readonly #seed: number;
  #stopped = false;
  #loops: Promise<void>[] = [];
  /** Every attempt not yet answered, those given up on by the soft timeout included. */
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(client: Etcd3, keys: readonly string[], seed: number) {
    this.#client = client;
    this.#keys = keys;
    this.#seed = seed;
  }

  start(): void {
    this.#loops = Array.from({ length: WRITERS }, (_, i) => this.#loop(i));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }

  /** Resolves once every attempt has been answered (or failed), or after `ms`. */
  async settled(ms: number): Promise<void> {
    const signal = deadline(ms, "the writes to settle");
    const timedOut = new Promise<void>((resolve) =>
      signal.addEventListener("abort", () => resolve()),
    );
    while (this.#inFlight.size > 0 && !signal.aborted) {
      await Promise.race([Promise.allSettled(this.#inFlight), timedOut]);
    }
  }

  async #loop(writer: number): Promise<void> {
    const random = new Random(this.#seed * 31 + writer + 1);
    for (let n = 0; !this.#stopped; n++) {
      const write = this.#draw(random, `${this.#seed}.w${writer}.${n}`);
      while (!this.#stopped) {
        try {
          await this.#apply(write);
          this.ops += 1;
          break;
        } catch {
          this.failures += 1;
          await delay(100); // the writers' own pace while the cluster recovers
        }
      }
      await delay(random.int(0, 25)); // the writers' own pace
    }
  }

  #draw(random: Random, value: string): Write {
    const pickKey = (): string =>
      random.chance(0.15) ? (this.#keys[0] as string) : random.pick(this.#keys);
    const size = random.chance(0.1) ? random.int(2, 4) : 1;
    const puts = new Map<string, string>();
    const deletes: string[] = [];
    while (puts.size + deletes.length < size) {
      const key = pickKey();
      if (puts.has(key) || deletes.includes(key)) continue;
      if (random.chance(0.7)) puts.set(key, `${value}.${puts.size}`);
      else deletes.push(key);
    }
    return { puts, deletes };
  }

  async #apply(write: Write): Promise<void> {
    const ops: IRequestOp[] = [
      ...[...write.puts].map(([key, value]) => ({
        request_put: { key: Buffer.from(key), value: Buffer.from(value) },
      })),
      ...write.deletes.map((key) => ({ request_delete_range: { key: Buffer.from(key) } })),
    ];
    const attempt = this.#client.kv.txn({ success: ops });
    this.#inFlight.add(attempt);
    const forget = (): void => {
      this.#inFlight.delete(attempt);
    };
    attempt.then(forget, forget);
    const response = await withTimeout(attempt, WRITE_TIMEOUT_MS);
    const revision = Number(response.header.revision);
    for (const key of write.puts.keys()) this.changedAt.set(key, revision);
    write.deletes.forEach((key, i) => {
      const deleted = response.responses[write.puts.size + i]?.response_delete_range?.deleted;
      if (Number(deleted ?? 0) > 0) this.changedAt.set(key, revision);
    });
  }
}

/** `promise`, or a rejection after `ms` (the request itself is left to finish or fail). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
