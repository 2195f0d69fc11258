/**
 * Row 16: leader failover. An election with a leader and one waiting candidate, each on
 * its own client; the time from the leader's end to the candidate leading, measured by
 * the candidate's process. event-value: `EtcdElection.campaign()`; baseline: etcd3's
 * `client.election(name, ttl).campaign()` (its `elected` event). Both sides use
 * `createEtcdClient` clients and leases of the same TTL; rounds alternate sides.
 *
 * - Killed: the leader runs in a child process (`failover-child.ts`) that is killed with
 *   SIGKILL once the candidate waits: its lease is not revoked, so etcd expires it after
 *   its TTL (counted from its last keepalive) and deletes its key. Bound: TTL + 1 s.
 * - Resigned: the leader (in this process, on another client) resigns; from the call to
 *   the candidate leading. Bound: 50 ms.
 */

import { type ChildProcess, fork } from "node:child_process";
import { resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { Etcd3 } from "etcd3";
import { createEtcdClient, EtcdElection } from "../src/index.js";
import { alternate, type BenchEtcd, type EtcdSizes, now, percentile } from "./etcd-common.js";
import type { FromFailoverChild } from "./failover-child.js";
import { fmt, median, type Row } from "./report.js";

const CHILD = resolve(import.meta.dirname, "failover-child.ts");

type Side = "ours" | "etcd3";

/** A campaign under way: when it leads (`now()`), and its resignation. */
interface Candidate {
  readonly led: Promise<number>;
  leading(): boolean;
  resign(): Promise<void>;
}

function campaign(side: Side, client: Etcd3, name: string, ttl: number): Candidate {
  let leading = false;
  let led: Promise<number>;
  let resign: () => Promise<void>;
  if (side === "ours") {
    const leadership = new EtcdElection(client, name, { ttl }).campaign(
      new TextEncoder().encode("candidate"),
    );
    led = leadership.then(() => now());
    resign = async () => (await leadership).resign();
  } else {
    const running = client.election(name, ttl).campaign("candidate");
    led = running.wait().then(() => now());
    resign = () => running.resign();
  }
  led = led.then((at) => {
    leading = true;
    return at;
  });
  return { led, leading: () => leading, resign };
}

/** Waits until the election has `count` candidates' keys (each side's own layout). */
async function untilCandidates(etcd: BenchEtcd, side: Side, name: string, count: number) {
  const prefix = side === "ours" ? `${name}/` : `election/${name}/`;
  const until = now() + 10_000;
  while ((await etcd.writer.getAll().prefix(prefix).count()) < count) {
    if (now() > until) throw new Error(`${side}: ${count} candidates of ${name} within 10 s`);
    await delay(5);
  }
}

/** Rejects when `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    delay(ms, undefined, { ref: false }).then(() => {
      throw new Error(`${what} not within ${ms} ms`);
    }),
  ]);
}

function leadingMessage(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onMessage = (message: FromFailoverChild): void => {
      if (message.type !== "leading") return;
      child.off("exit", onExit);
      resolvePromise();
    };
    const onExit = (code: number | null): void => {
      child.off("message", onMessage);
      reject(new Error(`failover child exited (code ${code}) before leading`));
    };
    child.once("message", onMessage);
    child.once("exit", onExit);
  });
}

/** One kill round: ms from SIGKILL to the candidate leading. */
async function killRound(etcd: BenchEtcd, side: Side, ttl: number, n: number): Promise<number> {
  const name = `/bench/failover/kill-${side}-${n}`;
  const child = fork(CHILD, [side, etcd.endpoint, name, String(ttl)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  const client = createEtcdClient({ hosts: [etcd.endpoint] });
  try {
    await within(leadingMessage(child), 30_000, `${side}: the child leading`);
    const candidate = campaign(side, client, name, ttl);
    await untilCandidates(etcd, side, name, 2);
    await delay(100); // the candidate's wait (its watch) is set up
    if (candidate.leading()) throw new Error(`${side}: the child lost its lease before the kill`);
    const killedAt = now();
    child.kill("SIGKILL");
    const ledAt = await within(candidate.led, ttl * 1000 + 10_000, `${side}: a successor`);
    await candidate.resign();
    return ledAt - killedAt;
  } finally {
    child.kill("SIGKILL");
    await exited;
    client.close();
  }
}

/** One resign round: ms from `resign()` to the candidate leading. */
async function resignRound(
  etcd: BenchEtcd,
  side: Side,
  clients: readonly [Etcd3, Etcd3],
  ttl: number,
  n: number,
): Promise<number> {
  const name = `/bench/failover/resign-${side}-${n}`;
  const leader = campaign(side, clients[0], name, ttl);
  await within(leader.led, 10_000, `${side}: the leader leading`);
  const candidate = campaign(side, clients[1], name, ttl);
  await untilCandidates(etcd, side, name, 2);
  await delay(50); // the candidate's wait (its watch) is set up
  const resignedAt = now();
  const resigned = leader.resign();
  const ledAt = await within(candidate.led, 10_000, `${side}: a successor`);
  await resigned;
  await candidate.resign();
  return ledAt - resignedAt;
}

/** Row 16: two rows, the leader killed and the leader resigning. */
export async function failoverRows(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row[]> {
  const ttl = sizes.failoverTtl;
  let n = 0;
  const killed = await alternate(
    sizes.failoverKillRounds,
    () => killRound(etcd, "ours", ttl, n++),
    () => killRound(etcd, "etcd3", ttl, n++),
  );
  const clients = [
    createEtcdClient({ hosts: [etcd.endpoint] }),
    createEtcdClient({ hosts: [etcd.endpoint] }),
  ] as const;
  let resigned: { ours: number[]; baseline: number[] };
  try {
    resigned = await alternate(
      sizes.failoverResignRounds,
      () => resignRound(etcd, "ours", clients, ttl, n++),
      () => resignRound(etcd, "etcd3", clients, ttl, n++),
      {
        ours: () => resignRound(etcd, "ours", clients, ttl, n++),
        baseline: () => resignRound(etcd, "etcd3", clients, ttl, n++),
      },
      20,
    );
  } finally {
    for (const client of clients) client.close();
  }
  const list = (values: number[]): string => values.map(fmt).join(", ");
  const killOurs = median(killed.ours);
  const killBaseline = median(killed.baseline);
  const killBound = ttl * 1000 + 1000;
  const resignOurs = median(resigned.ours);
  const resignBaseline = median(resigned.baseline);
  const baselineName = "etcd3 client.election().campaign()";
  return [
    {
      id: 16,
      measurement: `leader failover, leader killed (SIGKILL, lease of ${ttl} s not revoked): until the successor leads`,
      unit: "ms",
      ours: killOurs,
      baseline: killBaseline,
      baselineName,
      ratio: killOurs / killBaseline,
      target: `≤ TTL + 1 s (${fmt(killBound)} ms), ratio ≤ 1.0`,
      pass: Math.max(...killed.ours) <= killBound && killOurs / killBaseline <= 1,
      note: `killed: median of ${killed.ours.length} rounds per side, the leader in a child process; per round ${list(killed.ours)} vs ${list(killed.baseline)} ms (the bound is checked on every round). Both wait for etcd to expire the leader's lease: TTL from its last keepalive (sent every TTL/3), plus up to 0.5 s of etcd's expiry check.`,
    },
    {
      id: 16,
      measurement: "leader failover, leader resigns: until the successor leads",
      unit: "ms",
      ours: resignOurs,
      baseline: resignBaseline,
      baselineName,
      ratio: resignOurs / resignBaseline,
      target: "≤ 50 ms, ratio ≤ 1.0",
      pass: resignOurs <= 50 && resignOurs / resignBaseline <= 1,
      note: `resigned: median of ${resigned.ours.length} alternating rounds per side (p90 ${fmt(percentile(resigned.ours, 90))} vs ${fmt(percentile(resigned.baseline, 90))} ms), leader and candidate on two clients of this process. event-value's candidate, the only one behind the leader, watches the span of both keys and leads on the delete event; etcd3's reads the line again first.`,
    },
  ];
}
