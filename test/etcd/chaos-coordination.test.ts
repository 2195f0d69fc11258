/**
 * Seeded chaos for locks and elections on a three-member cluster, with the schedule and
 * the harness of `chaos.test.ts` (kills, restarts, freezes, dropped and black-holed links,
 * compaction, a quorum loss). Lock contenders and election candidates, each on a client
 * of its own that reaches the members only through the proxies, acquire an `EtcdLock`
 * or campaign in an `EtcdElection` over and over; while holding, each writes one shared
 * key per line with `set(…, { guard: handle })`, then releases or resigns.
 *
 * Checked over every seed (see `test/helpers/chaos-tenures.ts` for what is observable):
 * - no overlap: by etcd revision, the acknowledged guarded writes come in the order of
 *   their holders' terms (create revisions), so tenures are ordered and disjoint;
 * - at most one holder per term, and the `leader()` observer's terms never go back (a
 *   term always has the same key);
 * - every earlier holder's `signal` has aborted (read at that moment, on the same
 *   monotonic clock) when a successor's first guarded write is acknowledged;
 * - after the repairs every contender holds again within a bound (no phantom key blocks
 *   the line);
 * - after everything closes, no key is left under the lines' prefixes and etcd lists no
 *   lease (read on a member directly), within TTL + 7 s: a lease whose revoke could not
 *   be sent (granted after its acquire was aborted by the stop, revoked once granted,
 *   but its client closed first; or lost in the faults) is left to etcd's own expiry.
 *   What is left at the close is printed.
 *
 * `npm test` runs the seeds of `CI_SEEDS`; `CHAOS_SEED=1234` runs that seed only;
 * `CHAOS_SEEDS=20` runs seeds 1–20. A failure prints the seed, the schedule and every
 * tenure.
 */

import { setTimeout as delay } from "node:timers/promises";
import test, { type ExecutionContext } from "ava";
import type { Etcd3 } from "etcd3";
import {
  AmbiguousWriteError,
  codecs,
  createEtcdClient,
  EtcdElection,
  EtcdLock,
  EtcdValue,
  type Leader,
  LostError,
  type Watcher,
} from "../../src/index.js";
import {
  type Compaction,
  repairAll,
  runSchedule,
  withChaosTarget,
} from "../helpers/chaos-faults.js";
import { formatSchedule, makeSchedule, Random } from "../helpers/chaos-schedule.js";
import { type Held, type Tenure, TenureHistory } from "../helpers/chaos-tenures.js";
import { keysUnder } from "../helpers/coordination.js";
import { deadline } from "../helpers/faults.js";

/** Seeds run by `npm test`. */
const CI_SEEDS = [1, 2];
/** Random steps per run (the repairs at the end come on top). */
const STEPS = 10;
const LOCK_CONTENDERS = 3;
const CANDIDATES = 3;
/** TTL of every lease, in s: short, so that leases lost in the faults end soon. */
const TTL = 3;
/** Bound on every contender holding again once the cluster is healed. */
const LIVENESS_MS = 15_000;
/** Bound on etcd's lease list emptying after everything closed: its own expiry of a lease lost locally. */
const LEFTOVER_MS = (TTL + 7) * 1000;
const RUN_BOUND_MS = 60_000;

const chaosTarget = withChaosTarget(test);

const seeds =
  process.env.CHAOS_SEED !== undefined
    ? [Number(process.env.CHAOS_SEED)]
    : process.env.CHAOS_SEEDS !== undefined
      ? Array.from({ length: Number(process.env.CHAOS_SEEDS) }, (_, i) => i + 1)
      : CI_SEEDS;
for (const seed of seeds) {
  if (!Number.isSafeInteger(seed)) throw new Error(`CHAOS_SEED must be an integer, got ${seed}`);
  test.serial(
    `chaos, seed ${seed}: locks and elections under kills, freezes, broken links, compaction, quorum loss: no overlap by revision, one holder per term, every signal aborted before a successor writes, nothing left behind`,
    (t) => runChaos(t, seed),
  );
}

async function runChaos(t: ExecutionContext, seed: number): Promise<void> {
  const target = await chaosTarget();
  const { cluster, proxies } = target;
  const schedule = makeSchedule(seed, { steps: STEPS, members: 3 });
  const ran: (number | undefined)[] = [];
  const repeat = `CHAOS_SEED=${seed} npx ava test/etcd/chaos-coordination.test.ts`;
  t.timeout(RUN_BOUND_MS, `seed ${seed}: the run's bound (repeat: ${repeat})`);
  t.teardown(() => repairAll(target));

  const prefix = `/chaos-coordination/${seed}/`;
  const origin = performance.now();
  const lockLine = new Line(new TenureHistory("lock", origin), `${prefix}lock`);
  const electionLine = new Line(new TenureHistory("election", origin), `${prefix}election`);
  const hosts = proxies.map((proxy) => proxy.url);
  const clients: Etcd3[] = [];
  const client = (): Etcd3 => {
    const one = createEtcdClient({ hosts });
    clients.push(one);
    return one;
  };
  t.teardown(() => {
    for (const one of clients) one.close();
  });

  const stop = new AbortController();
  const loops = [
    ...Array.from({ length: LOCK_CONTENDERS }, (_, i) =>
      lockLine.lockContender(
        `lock contender ${i}`,
        client(),
        new Random(seed * 97 + i),
        stop.signal,
      ),
    ),
    ...Array.from({ length: CANDIDATES }, (_, i) =>
      electionLine.candidate(`candidate ${i}`, client(), new Random(seed * 89 + i), stop.signal),
    ),
  ];
  const observer = new LeaderObserver(client(), electionLine.name);

  const compaction: Compaction = { upTo: 0 };
  const notes: string[] = [];
  await runSchedule(target, schedule, ran, compaction, (line) => notes.push(line));
  await cluster.waitHealthy();
  const healedAt = performance.now();

  // Liveness: once healed, every contender holds again (no phantom key blocks a line).
  const stuck = await Promise.all(
    [lockLine, electionLine].map((line) => line.everyoneHoldsAfter(healedAt, LIVENESS_MS)),
  );
  stop.abort(new Error("the run is over"));
  const ended = await Promise.race([
    Promise.all(loops).then(() => true),
    delay(15_000).then(() => false),
  ]);
  const closedAt = performance.now();
  const leaderViolations = await observer.close();
  for (const one of clients) one.close();

  // Nothing left behind, read on a member directly.
  const direct = cluster.client();
  const leftover = await untilNothingLeft(direct, prefix, LEFTOVER_MS, (id) => {
    const tenure = lockLine.history.ofLease(id) ?? electionLine.history.ofLease(id);
    return tenure === undefined
      ? "held no lock or leadership"
      : `${tenure.who}'s, term ${tenure.held.createRevision}, ${tenure.held.lease.state}`;
  });

  const violations = [
    ...stuck.flat(),
    ...(ended ? [] : ["a contender's loop did not end within 15 s of the stop"]),
    ...lockLine.history.check().map((v) => `lock: ${v}`),
    ...electionLine.history.check().map((v) => `election: ${v}`),
    ...leaderViolations.map((v) => `leader(): ${v}`),
    ...lockLine.errors.map((v) => `lock: ${v}`),
    ...electionLine.errors.map((v) => `election: ${v}`),
    ...(leftover.after.length === 0
      ? []
      : [`left behind ${LEFTOVER_MS} ms after closing: ${leftover.after.join(", ")}`]),
  ];
  t.log(
    `seed ${seed} (repeat: ${repeat})\nlock: ${lockLine.history.summary()}\nelection: ${electionLine.history.summary()}\nleader(): ${observer.summary()}\nat close: ${leftover.atClose.length === 0 ? "nothing left" : leftover.atClose.join(", ")}; etcd's list empty ${(leftover.emptyAt - closedAt).toFixed(0)} ms after closing\nschedule:\n${formatSchedule(schedule, ran)}${notes.length === 0 ? "" : `\n${notes.join("\n")}`}`,
  );
  if (violations.length > 0) {
    t.log(
      `tenures (ms since the start; healed at ${(healedAt - origin).toFixed(0)}):\n  lock:\n${lockLine.history.format()}\n  election:\n${electionLine.history.format()}`,
    );
    t.fail([`seed ${seed}: repeat with ${repeat}`, ...violations].join("\n"));
    return;
  }
  t.pass();
}

/** A lock or an election, its contenders' loops, and its history. */
class Line {
  /** Unexpected failures (anything but a loss, a refusal or the stop). */
  readonly errors: string[] = [];
  /** Every contender's name, from the start of its loop. */
  readonly #contenders = new Set<string>();
  /** Wakes `everyoneHoldsAfter` at each new tenure. */
  #nextTenure: (() => void)[] = [];

  constructor(
    readonly history: TenureHistory,
    readonly name: string,
  ) {}

  /** Acquires, writes guarded, releases; again until `stop`. */
  async lockContender(
    who: string,
    client: Etcd3,
    random: Random,
    stop: AbortSignal,
  ): Promise<void> {
    this.#contenders.add(who);
    const lock = new EtcdLock(client, this.name, { ttl: TTL });
    const data = new EtcdValue(client, `${this.name}-data`, { codec: codecs.text });
    while (!stop.aborted) {
      let handle: Held & { release(): Promise<void> };
      try {
        handle = await lock.acquire({ signal: stop });
      } catch (error) {
        this.#failed(who, "acquire", error, stop);
        continue;
      }
      await this.#hold(who, handle, data, random);
      await handle.release();
      await delay(random.int(0, 50)); // the contenders' own pace
    }
  }

  /** Campaigns, proclaims, writes guarded, resigns; again until `stop`. */
  async candidate(who: string, client: Etcd3, random: Random, stop: AbortSignal): Promise<void> {
    this.#contenders.add(who);
    const election = new EtcdElection(client, this.name, { ttl: TTL, codec: codecs.text });
    const data = new EtcdValue(client, `${this.name}-data`, { codec: codecs.text });
    for (let round = 0; !stop.aborted; round++) {
      let leadership: Awaited<ReturnType<typeof election.campaign>>;
      try {
        leadership = await election.campaign(`${who}.${round}`, { signal: stop });
      } catch (error) {
        this.#failed(who, "campaign", error, stop);
        continue;
      }
      const tenure = await this.#hold(who, leadership, data, random);
      try {
        if (!leadership.signal.aborted) await leadership.proclaim(`${who}.${round}.leading`);
      } catch (error) {
        if (!leadership.signal.aborted) this.errors.push(`${who}: proclaim: ${String(error)}`);
        else this.history.refused(tenure, "proclaim lost");
      }
      await leadership.resign();
      await delay(random.int(0, 50)); // the candidates' own pace
    }
  }

  /**
   * Once healed (`from`), every contender's next tenure: violations naming those with
   * none by the bound. Woken by each new tenure.
   */
  async everyoneHoldsAfter(from: number, boundMs: number): Promise<string[]> {
    const bound = deadline(boundMs, "every contender to hold");
    for (;;) {
      const holders = new Set(
        this.history.tenures.filter((tenure) => tenure.heldAt > from).map((tenure) => tenure.who),
      );
      const waiting = [...this.#contenders].filter((who) => !holders.has(who));
      if (waiting.length === 0) return [];
      if (bound.aborted) {
        return [
          `${this.name}: ${waiting.join(", ")} did not hold within ${boundMs} ms of the repairs`,
        ];
      }
      await new Promise<void>((resolve) => {
        this.#nextTenure.push(resolve);
        bound.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }

  /** 1–4 guarded writes, while the handle holds. */
  async #hold(who: string, held: Held, data: EtcdValue<string>, random: Random): Promise<Tenure> {
    const tenure = this.history.held(who, held);
    const woken = this.#nextTenure;
    this.#nextTenure = [];
    for (const wake of woken) wake();
    const writes = random.int(1, 4);
    for (let n = 0; n < writes && !held.signal.aborted; n++) {
      try {
        const result = await data.set(`${who}.${held.createRevision}.${n}`, {
          guard: held,
          signal: held.signal,
        });
        if (result.ok) this.history.accepted(tenure, result.revision);
        else {
          this.history.refused(tenure, result.reason);
          break;
        }
      } catch (error) {
        if (error instanceof AmbiguousWriteError) {
          this.history.refused(tenure, "ambiguous");
        } else if (held.signal.aborted) this.history.refused(tenure, "lost while waiting");
        else this.errors.push(`${who}: guarded write: ${String(error)}`);
        break;
      }
      await delay(random.int(0, 60)); // the holder's own pace
    }
    return tenure;
  }

  #failed(who: string, what: string, error: unknown, stop: AbortSignal): void {
    if (stop.aborted) return;
    if (error instanceof LostError) return; // lost while waiting: try again
    this.errors.push(`${who}: ${what}: ${String(error)}`);
  }
}

/**
 * A `leader()` watcher on a client of its own: terms never go back, and a term always
 * names the same key; at the end, no leader.
 */
class LeaderObserver {
  readonly #violations: string[] = [];
  readonly #seen: (Leader<string> | undefined)[] = [];
  readonly #watcher: Watcher<Leader<string> | undefined>;
  readonly #loop: Promise<void>;
  /** Woken at each value seen. */
  #nextValue: (() => void)[] = [];

  constructor(client: Etcd3, name: string) {
    const watcher = new EtcdElection(client, name, { codec: codecs.text }).leader().watch();
    this.#watcher = watcher;
    let last: Leader<string> | undefined;
    this.#loop = (async () => {
      for await (const leader of watcher) {
        if (leader !== undefined && last !== undefined) {
          if (leader.createRevision < last.createRevision) {
            this.#violations.push(
              `term ${leader.createRevision} after term ${last.createRevision}`,
            );
          }
          if (leader.createRevision === last.createRevision && leader.key !== last.key) {
            this.#violations.push(
              `term ${leader.createRevision} held by ${leader.key} and by ${last.key}`,
            );
          }
        }
        this.#seen.push(leader);
        last = leader ?? last;
        const woken = this.#nextValue;
        this.#nextValue = [];
        for (const wake of woken) wake();
      }
    })();
  }

  summary(): string {
    const terms = new Set(this.#seen.flatMap((leader) => leader?.createRevision ?? []));
    return `${this.#seen.length} values, ${terms.size} terms`;
  }

  /** Waits (bound: 10 s) for `undefined`, then stops; returns the violations. */
  async close(): Promise<string[]> {
    const bound = deadline(10_000, "no leader");
    while (this.#seen.at(-1) !== undefined && !bound.aborted) {
      await new Promise<void>((resolve) => {
        this.#nextValue.push(resolve);
        bound.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    if (this.#seen.at(-1) !== undefined) {
      this.#violations.push("still a leader 10 s after every candidate stopped");
    }
    this.#watcher.close();
    await this.#loop;
    return this.#violations;
  }
}

/**
 * Keys under `prefix` and etcd's leases: what is there at once, then polled until both
 * are empty or `boundMs` passed.
 */
async function untilNothingLeft(
  client: Etcd3,
  prefix: string,
  boundMs: number,
  whose: (lease: string) => string,
): Promise<{ atClose: string[]; after: string[]; emptyAt: number }> {
  const look = async (): Promise<string[]> => {
    const keys = (await keysUnder(client, prefix)).filter((key) => !key.endsWith("-data"));
    const leases = await client.leaseClient.leaseLeases();
    return [...keys, ...leases.leases.map((lease) => `lease ${lease.ID}`)];
  };
  const described = async (ids: readonly string[]): Promise<string[]> =>
    Promise.all(
      ids.map(async (line) => {
        if (!line.startsWith("lease ")) return line;
        const id = line.slice("lease ".length);
        const live = await client.leaseClient.leaseTimeToLive({ ID: id });
        return `${line} (${live.TTL} s left of ${live.grantedTTL}; ${whose(id)})`;
      }),
    );
  const atClose = await described(await look());
  const until = performance.now() + boundMs;
  let after = atClose;
  while (after.length > 0 && performance.now() < until) {
    await delay(200);
    after = await look();
  }
  return { atClose, after, emptyAt: performance.now() };
}
