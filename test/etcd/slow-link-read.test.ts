/**
 * A range read over a slow link (issue 13, second livelock): 300 keys of 40 KiB, 11.7 MiB,
 * through a proxy throttled to 2 MiB/s. A page that took longer than the soft timeout was
 * abandoned and asked for again at the same size, forever, while the abandoned requests
 * kept downloading. A read making progress is not stalled, slow pages shrink, and what is
 * abandoned is cancelled: the range loads within about twice the time the user's own
 * `getAll()` takes over the same link, both measured here.
 */

import test from "ava";
import type { Etcd3 } from "etcd3";
import { createEtcdClient, EtcdRangeValue } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { deadline } from "../helpers/faults.js";
import { writeLargeRange } from "../helpers/large-range.js";
import { checkLeaks } from "../helpers/leaks.js";
import { watcher } from "../helpers/watcher.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);

const KIB = 1024;
const COUNT = Number(process.env.SLOW_LINK_KEYS ?? 300);
const VALUE_BYTES = 40 * KIB;
const RATE = Number(process.env.SLOW_LINK_RATE ?? 2048 * KIB);
/** Puts per transaction: 16 × 40 KiB stays under etcd's 1.5 MiB request limit. */
const PER_TXN = 16;

/** Writes COUNT keys of VALUE_BYTES under `prefix`. */
function writeRange(client: Etcd3, prefix: string): Promise<void> {
  return writeLargeRange(client, prefix, {
    count: COUNT,
    valueBytes: VALUE_BYTES,
    perTxn: PER_TXN,
  });
}

test("slow link: an 11.7 MiB range at 2 MiB/s loads within about twice a raw getAll()'s time", async (t) => {
  const prefix = "/slow/read/";
  await writeRange(cluster().client(), prefix);
  const proxy = await TcpProxy.start(Number(new URL(cluster().endpoints[0] as string).port));
  t.teardown(() => proxy.close());
  // The recommended client: 64 MiB messages, so the raw getAll() fits in one.
  const client = createEtcdClient({ hosts: [proxy.url] });
  t.teardown(() => client.close());
  await client.get("/slow/warm-up").string(); // the connection, before the clock starts
  proxy.setRate("toClient", { bytesPerSecond: RATE });

  let started = performance.now();
  const raw = await client.getAll().prefix(prefix).buffers();
  const rawMs = performance.now() - started;
  t.is(Object.keys(raw).length, COUNT, "the raw read returns every key");

  started = performance.now();
  const value = new EtcdRangeValue(client, { prefix });
  const snapshot = await watcher(t, value.snapshots()).get({
    signal: deadline(Math.max(30_000, rawMs * 4), "the range over the slow link"),
  });
  const libraryMs = performance.now() - started;
  t.is(snapshot.entries.size, COUNT, "every key loaded");
  const ratio = libraryMs / rawMs;
  t.log(`raw getAll ${rawMs.toFixed(0)} ms, EtcdRangeValue ${libraryMs.toFixed(0)} ms`);
  t.true(ratio <= 2.2, `loads within about twice the raw read's time: ratio ${ratio.toFixed(2)}`);
});
