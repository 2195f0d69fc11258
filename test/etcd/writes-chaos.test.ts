/**
 * The compare-and-set loop under faults, against a real 3-member cluster: 8 updaters on
 * separate clients (each through a TCP proxy per member) increment one JSON counter 250
 * times each while members are killed and restarted, one is frozen, and every connection
 * is dropped. Each increment marks its own slot, so the final value shows which
 * increments applied and how often: every increment reported `ok` applied exactly once,
 * each that rejected with `AmbiguousWriteError` at most once, none twice, and the total
 * is between 2000 − A and 2000 (A: the ambiguous ones). `EVENT_VALUE_BIG=1`: 16 × 1000.
 */

import test from "ava";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  AmbiguousWriteError,
  codecs,
  createEtcdClient,
  EtcdValue,
  MemoryValue,
} from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { proxyMembers, type TcpProxy } from "../harness/tcp-proxy.js";
import { deadline } from "../helpers/faults.js";

const BIG = process.env.EVENT_VALUE_BIG === "1";
const UPDATERS = BIG ? 16 : 8;
const INCREMENTS = BIG ? 1000 : 250;
const TOTAL = UPDATERS * INCREMENTS;

const cluster = withCluster(test, { members: 3, memberControl: true });

/** The counter: a total, and per updater one digit per increment (times it applied). */
interface Counter {
  readonly total: number;
  readonly slots: readonly string[];
}

const empty: Counter = {
  total: 0,
  slots: Array.from({ length: UPDATERS }, () => "0".repeat(INCREMENTS)),
};

/** `counter` with increment `j` of updater `i` applied once more. */
function increment(counter: Counter | undefined, i: number, j: number): Counter {
  const { total, slots } = counter ?? empty;
  const slot = slots[i] as string;
  const digit = Number(slot[j]) + 1;
  const next = [...slots];
  next[i] = `${slot.slice(0, j)}${digit}${slot.slice(j + 1)}`;
  return { total: total + 1, slots: next };
}

test(`update under faults: ${UPDATERS} updaters × ${INCREMENTS} increments while members restart, freeze and connections drop: every ok increment counted exactly once, none twice`, async (t) => {
  t.timeout(300_000);
  const proxies: TcpProxy[] = await proxyMembers(cluster().endpoints);
  t.teardown(() => Promise.all(proxies.map((proxy) => proxy.close())));
  const members = cluster().members;
  const name = "/chaos/counter";
  const clients = Array.from({ length: UPDATERS }, () =>
    createEtcdClient({ hosts: proxies.map((proxy) => proxy.url) }),
  );
  t.teardown(() => {
    for (const client of clients) client.close();
  });
  // A frozen member makes a request wait 2 s (not 10) before it is reported ambiguous.
  const options = withInternal(
    { codec: codecs.json<Counter>() },
    { tuning: { writeTimeoutMs: 2000 } },
  );
  const progress = new MemoryValue(0);
  const outcome: ("ok" | "ambiguous")[][] = [];

  const updater = async (i: number): Promise<void> => {
    const value = new EtcdValue(clients[i]!, name, options);
    const mine: ("ok" | "ambiguous")[] = [];
    outcome[i] = mine;
    for (let j = 0; j < INCREMENTS; j++) {
      try {
        const result = await value.update((counter) => increment(counter, i, j));
        if (!result.ok) throw new Error(`increment refused: ${JSON.stringify(result)}`);
        mine.push("ok");
      } catch (error) {
        if (!(error instanceof AmbiguousWriteError)) throw error;
        mine.push("ambiguous");
      }
      progress.update((n) => (n ?? 0) + 1);
    }
  };

  /** Resolves once `count` increments have ended (ok or ambiguous). */
  const reached = async (count: number): Promise<number> => {
    const watcher = progress.watch();
    try {
      return await watcher.get({
        filter: (n) => n >= Math.min(count, TOTAL),
        signal: deadline(240_000, `${count} increments`),
      });
    } finally {
      watcher.close();
    }
  };

  const faults = async (): Promise<string[]> => {
    const done: string[] = [];
    await reached(TOTAL * 0.15);
    await members[0]!.kill();
    await members[0]!.start();
    done.push("restart m0");
    await reached(TOTAL * 0.35);
    members[1]!.freeze();
    const frozenAt = progress.current ?? 0;
    await reached(frozenAt + TOTAL * 0.1); // the others go on meanwhile
    members[1]!.thaw();
    done.push("freeze m1");
    await reached(TOTAL * 0.6);
    for (const proxy of proxies) proxy.setMode("drop");
    for (const proxy of proxies) proxy.setMode("pass");
    done.push("drop every connection");
    await reached(TOTAL * 0.75);
    const leader = await cluster().leader();
    await leader.kill();
    await leader.start();
    done.push(`restart the leader ${leader.name}`);
    return done;
  };

  const [done] = await Promise.all([
    faults(),
    ...Array.from({ length: UPDATERS }, (_, i) => updater(i)),
  ]);
  t.is(done.length, 4, `every fault happened while updating: ${done.join(", ")}`);

  const kv = (await clients[0]!.get(name).exec()).kvs[0];
  const final = JSON.parse(kv?.value.toString() ?? "null") as Counter;
  let ambiguous = 0;
  let counted = 0;
  for (let i = 0; i < UPDATERS; i++) {
    for (let j = 0; j < INCREMENTS; j++) {
      const times = Number(final.slots[i]?.[j]);
      const reported = outcome[i]?.[j];
      counted += times;
      if (reported === "ambiguous") ambiguous += 1;
      const allowed = reported === "ok" ? [1] : [0, 1];
      if (!allowed.includes(times)) {
        t.fail(`increment ${i}/${j}, reported ${reported}, applied ${times} times`);
      }
    }
  }
  t.is(final.total, counted, "the total counts the applied increments");
  t.true(
    counted >= TOTAL - ambiguous && counted <= TOTAL,
    `${TOTAL} − A ≤ count ≤ ${TOTAL}: count ${counted}, A ${ambiguous}`,
  );
  t.log(`count ${counted}, ambiguous ${ambiguous}, faults: ${done.join(", ")}`);
});
