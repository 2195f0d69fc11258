/** Reads etcd's Prometheus metrics, to count the server's watches. */

import { pollUntil } from "../harness/poll.js";

/** The number of watches the member serves (`etcd_debugging_mvcc_watcher_total`). */
export async function readWatchGauge(clientUrl: string): Promise<number> {
  const response = await fetch(`${clientUrl}/metrics`);
  const text = await response.text();
  const line = text.split("\n").find((l) => l.startsWith("etcd_debugging_mvcc_watcher_total "));
  if (line === undefined) throw new Error(`No watcher gauge in ${clientUrl}/metrics`);
  return Number(line.split(" ")[1]);
}

/**
 * The member's watch count; with `expected`, waits (bounded) until it reaches that
 * number, since cancellations reach the server asynchronously.
 */
export async function watchCount(clientUrl: string, expected?: number): Promise<number> {
  if (expected === undefined) return readWatchGauge(clientUrl);
  let last = -1;
  await pollUntil(
    async () => {
      last = await readWatchGauge(clientUrl);
      return last === expected;
    },
    { what: `etcd watch gauge to reach ${expected}`, timeoutMs: 5000 },
  ).catch(() => {});
  return last;
}
