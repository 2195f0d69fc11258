/**
 * Row 17: lease loss detection. A lease is granted by a client that reaches the member
 * through a TCP proxy (test/harness/tcp-proxy.ts), a key is put under it, and the proxy
 * black-holes that client's connection: keepalives go unanswered, etcd expires the lease
 * and deletes the key. Measured on this process's clock: the delete event of the key,
 * seen by a raw etcd3 watcher on another client (the benchmark's writer, not behind the
 * proxy), against the moment the holder is told: event-value's `lease.signal` aborting,
 * etcd3's `Lease` `lost` event. Lag = told − deleted: negative means the holder knew
 * before etcd deleted its keys. Both holders use a `createEtcdClient` client and the same
 * TTL; rounds alternate sides.
 */

import { setTimeout as delay } from "node:timers/promises";
import { createEtcdClient, EtcdLease } from "../src/index.js";
import { TcpProxy } from "../test/harness/tcp-proxy.js";
import { alternate, type BenchEtcd, type EtcdSizes, now } from "./etcd-common.js";
import { fmt, median, type Row } from "./report.js";

type Side = "ours" | "etcd3";

/** How long after the delete a holder may take to be told before the round gives up, in TTLs. */
const CAP_TTLS = 6;

/** One round: ms from the key's delete event to the holder being told (negative: before). */
async function lossRound(
  etcd: BenchEtcd,
  proxy: TcpProxy,
  side: Side,
  ttl: number,
  n: number,
): Promise<number> {
  const key = `/bench/lease-loss/${side}-${n}`;
  const behind = createEtcdClient({ hosts: [proxy.url] });
  const watcher = await etcd.writer.watch().key(key).create();
  const deleted = new Promise<number>((resolve) => watcher.once("delete", () => resolve(now())));
  let told: Promise<number>;
  let revoke: () => Promise<unknown> = async () => {};
  try {
    if (side === "ours") {
      const lease = await EtcdLease.grant(behind, { ttl });
      revoke = () => lease.revoke();
      told = new Promise((resolve) =>
        lease.signal.addEventListener("abort", () => resolve(now()), { once: true }),
      );
      await etcd.writer.put(key).value("held").lease(lease.id).exec();
    } else {
      const lease = behind.lease(ttl);
      revoke = () => lease.revoke();
      told = new Promise((resolve) => lease.once("lost", () => resolve(now())));
      await etcd.writer
        .put(key)
        .value("held")
        .lease(await lease.grant())
        .exec();
    }
    await delay((ttl * 1000) / 2); // a keepalive or so acknowledged before the cut
    proxy.setMode("blackhole");
    const deletedAt = await deleted;
    const capped = delay(CAP_TTLS * ttl * 1000, Number.POSITIVE_INFINITY, { ref: false });
    const toldAt = await Promise.race([told, capped.then(() => Number.POSITIVE_INFINITY)]);
    return toldAt - deletedAt;
  } finally {
    proxy.setMode("pass");
    await revoke().catch(() => {});
    await watcher.cancel();
    behind.close();
  }
}

/** Row 17. */
export async function leaseLossRow(etcd: BenchEtcd, sizes: EtcdSizes): Promise<Row> {
  const ttl = sizes.leaseLossTtl;
  const proxy = await TcpProxy.start(Number(new URL(etcd.endpoint).port));
  let n = 0;
  let result: { ours: number[]; baseline: number[] };
  try {
    result = await alternate(
      sizes.leaseLossRounds,
      () => lossRound(etcd, proxy, "ours", ttl, n++),
      () => lossRound(etcd, proxy, "etcd3", ttl, n++),
    );
  } finally {
    await proxy.close();
  }
  const ours = median(result.ours);
  const baseline = median(result.baseline);
  const list = (values: number[]): string =>
    values.map((v) => (Number.isFinite(v) ? fmt(v) : `not within ${CAP_TTLS} TTLs`)).join(", ");
  return {
    id: 17,
    measurement: `lease loss detection, keepalives black-holed (TTL ${ttl} s): holder told − etcd deletes the lease's keys`,
    unit: "ms",
    ours,
    baseline,
    baselineName: "etcd3 Lease 'lost' event",
    ratio: ours / baseline,
    target: "< 0 (told before the keys are deleted)",
    pass: Math.max(...result.ours) < 0,
    notApplicable: {
      part: "ratio",
      reason: "the lags have opposite signs; the target is on event-value's sign alone",
    },
    note: `median of ${result.ours.length} alternating rounds per side; per round ${list(result.ours)} vs ${list(result.baseline)} ms. event-value's signal aborted ${fmt(-ours)} ms before the keys were deleted (median; every round before: ${Math.max(...result.ours) < 0 ? "yes" : "no"}): it counts the TTL from the send time of the last acknowledged keepalive, minus a margin. etcd3 fires 'lost' only once 2 × TTL have passed since its last keepalive answer, checked when its keepalive stream is replaced (after a TTL of silence).`,
  };
}
