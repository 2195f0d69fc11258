/**
 * Row 14: lock hand-off. 4 contenders, each on its own client (createEtcdClient), take a
 * lock `lockAcquisitions` times each and release it at once; acquisitions per second from
 * the first request to the last release. event-value: `EtcdLock.acquire()` (waits in
 * line, woken by the release of the key just ahead). Baseline: etcd3's `client.lock(key)`,
 * which is try-only, retried until it succeeds (at once: any delay would only slow it
 * more). Each round checks mutual exclusion with an in-process holder count. The note
 * adds event-value with one lease per contender (`acquire({ lease })`), as Go's sessions
 * do: no lease grant and revoke per acquisition, and what one acquisition costs each
 * side: this process's CPU, the member's CPU and the requests it served (from its
 * `/metrics`), over all rounds.
 */

import type { Etcd3 } from "etcd3";
import { createEtcdClient, EtcdLease, EtcdLock } from "../src/index.js";
import { alternate, type BenchEtcd, type EtcdSizes, memberMetrics, now } from "./etcd-common.js";
import { fmt, median, type Row } from "./report.js";

const CONTENDERS = 4;
let rounds = 0;

/** Totals of one side over its rounds: acquisitions, this process's and etcd's CPU, etcd's requests. */
class Cost {
  acquisitions = 0;
  clientMs = 0;
  etcdMs = 0;
  readonly calls = new Map<string, number>();

  /** Runs `round` (acquisitions per second of `acquisitions`) and adds what it cost. */
  async measure(
    etcd: BenchEtcd,
    acquisitions: number,
    round: () => Promise<number>,
  ): Promise<number> {
    const before = await memberMetrics(etcd);
    const cpu = process.cpuUsage();
    const rate = await round();
    const used = process.cpuUsage(cpu);
    const after = await memberMetrics(etcd);
    this.acquisitions += acquisitions;
    this.clientMs += (used.user + used.system) / 1000;
    this.etcdMs += (after.cpu - before.cpu) * 1000;
    for (const [method, count] of after.calls) {
      const added = count - (before.calls.get(method) ?? 0);
      if (added > 0) this.calls.set(method, (this.calls.get(method) ?? 0) + added);
    }
    return rate;
  }

  /** e.g. `client CPU 4.1 ms, etcd CPU 3.2 ms, etcd requests Txn 2, Range 0.4, …`, per acquisition. */
  toString(): string {
    const per = (total: number): string => fmt(total / this.acquisitions);
    const calls = [...this.calls]
      .sort((a, b) => b[1] - a[1])
      .map(([method, count]) => `${method} ${per(count)}`)
      .join(", ");
    return `client CPU ${per(this.clientMs)} ms, etcd CPU ${per(this.etcdMs)} ms, etcd requests ${calls}`;
  }
}

/** Runs `each` acquisitions on every client; returns acquisitions per second. */
async function handOffRound(
  clients: readonly Etcd3[],
  each: number,
  hold: (client: Etcd3, name: string) => Promise<() => Promise<void>>,
): Promise<number> {
  const name = `/bench/lock/${++rounds}`;
  let holders = 0;
  const start = now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < each; i++) {
        const release = await hold(client, name);
        holders += 1;
        if (holders !== 1) throw new Error(`${holders} holders of ${name} at once`);
        holders -= 1;
        await release();
      }
    }),
  );
  return (clients.length * each) / ((now() - start) / 1000);
}

const ours = (clients: readonly Etcd3[], each: number) =>
  handOffRound(clients, each, async (client, name) => {
    const handle = await new EtcdLock(client, name).acquire();
    return () => handle.release();
  });

/** event-value with one lease per contender, as Go's sessions do (no grant per acquisition). */
const oursSession = async (clients: readonly Etcd3[], each: number) => {
  const leases = await Promise.all(clients.map((client) => EtcdLease.grant(client)));
  try {
    return await handOffRound(clients, each, async (client, name) => {
      const lease = leases[clients.indexOf(client)] as EtcdLease;
      const handle = await new EtcdLock(client, name).acquire({ lease });
      return () => handle.release();
    });
  } finally {
    await Promise.all(leases.map((lease) => lease.revoke()));
  }
};

const baseline = (clients: readonly Etcd3[], each: number) =>
  handOffRound(clients, each, async (client, name) => {
    for (;;) {
      const lock = client.lock(name);
      try {
        await lock.acquire();
        return () => lock.release();
      } catch {
        // EtcdLockFailedError: held by another contender; try again
      }
    }
  });

/** Row 14. */
export async function lockHandOffRow(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row> {
  const clients = Array.from({ length: CONTENDERS }, () =>
    createEtcdClient({ hosts: [etcd.endpoint] }),
  );
  try {
    const each = sizes.lockAcquisitions;
    const acquisitions = CONTENDERS * each;
    const cost = { ours: new Cost(), baseline: new Cost() };
    const result = await alternate(
      sizes.rounds,
      () => cost.ours.measure(etcd, acquisitions, () => ours(clients, each)),
      () => cost.baseline.measure(etcd, acquisitions, () => baseline(clients, each)),
      { ours: () => ours(clients, 2), baseline: () => baseline(clients, 2) },
    );
    const session: number[] = [];
    for (let round = 0; round < sizes.rounds; round++)
      session.push(await oursSession(clients, each));
    const oursRate = median(result.ours);
    const baselineRate = median(result.baseline);
    const ratio = oursRate / baselineRate;
    return {
      id: 14,
      measurement: `lock hand-off: ${CONTENDERS} contenders × ${each} acquisitions`,
      unit: "acquisitions/s",
      ours: oursRate,
      baseline: baselineRate,
      baselineName: "etcd3 client.lock() retried",
      ratio,
      target: "ratio ≥ 2",
      pass: ratio >= 2,
      note: `rounds: ours ${result.ours.map(fmt).join(", ")}; baseline ${result.baseline.map(fmt).join(", ")}; event-value with one lease per contender (acquire({ lease }), as Go's sessions): ${fmt(median(session))} acquisitions/s, ratio ${fmt(median(session) / baselineRate)}; per acquisition, event-value: ${cost.ours}; baseline: ${cost.baseline}`,
    };
  } finally {
    for (const client of clients) client.close();
  }
}
