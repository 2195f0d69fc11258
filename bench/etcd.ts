/**
 * Rows 4–17: etcd values against raw etcd3 on one etcd member started by the test
 * harness (loopback, data dir on tmpfs, `--unsafe-no-fsync`). Each row's two sides run
 * in the same run on that member, in alternating rounds; one file per row or pair.
 * Row 10 kills and restarts the member, so it runs last (after rows 11–13).
 */

import { type EtcdSizes, startBenchEtcd, stopBenchEtcd } from "./etcd-common.js";
import { distinctKeysRows } from "./etcd-distinct-keys.js";
import { failoverRows } from "./etcd-failover.js";
import { fanOutRows } from "./etcd-fan-out.js";
import { initialLoadRow } from "./etcd-initial-load.js";
import { latencyRows, throughputRow } from "./etcd-latency.js";
import { leaseLossRow } from "./etcd-lease-loss.js";
import { lockHandOffRow } from "./etcd-locks.js";
import { type CurvePoint, manyKeysCurve, manyKeysRows } from "./etcd-many-keys.js";
import { reconnectRows } from "./etcd-reconnect.js";
import { slowConsumerRow } from "./etcd-slow-consumer.js";
import { setLatencyRows, updateRow } from "./etcd-writes.js";
import { memoryEtcdRows } from "./memory-etcd.js";
import type { Row } from "./report.js";

export { type EtcdSizes, FULL_ETCD_SIZES, SMOKE_ETCD_SIZES } from "./etcd-common.js";

/**
 * Runs rows 4–17 (or those in `only`), printing each row's time on stderr; resolves with
 * the rows, the member's etcd version, and the figure's data (row 7 at several sizes,
 * measured with row 7).
 */
export async function etcdRows(
  sizes: EtcdSizes,
  only?: ReadonlySet<number>,
): Promise<{ rows: Row[]; etcdVersion: string; curve: CurvePoint[] }> {
  const etcd = await startBenchEtcd();
  const rows: Row[] = [];
  let curve: CurvePoint[] = [];
  const run = async (id: number, measure: () => Promise<Row | Row[]>): Promise<void> => {
    if (only !== undefined && !only.has(id)) return;
    const started = Date.now();
    const result = await measure();
    rows.push(...(Array.isArray(result) ? result : [result]));
    console.error(`row ${id}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  try {
    await run(4, () => latencyRows(etcd, sizes));
    await run(5, () => throughputRow(etcd, sizes));
    await run(6, () => fanOutRows(etcd, sizes));
    await run(7, async () => {
      curve = await manyKeysCurve(etcd, sizes);
      return manyKeysRows(etcd, sizes);
    });
    await run(8, () => slowConsumerRow(etcd, sizes));
    await run(9, () => initialLoadRow(etcd, sizes));
    await run(11, () => updateRow(etcd, sizes));
    await run(12, () => setLatencyRows(etcd, sizes));
    await run(13, () => memoryEtcdRows(etcd, sizes));
    await run(14, () => lockHandOffRow(etcd, sizes));
    await run(15, () => distinctKeysRows(etcd, sizes));
    await run(16, () => failoverRows(etcd, sizes));
    await run(17, () => leaseLossRow(etcd, sizes));
    await run(10, () => reconnectRows(etcd, sizes));
  } finally {
    await stopBenchEtcd(etcd);
  }
  return { rows, etcdVersion: etcd.version, curve };
}
