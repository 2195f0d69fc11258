/**
 * The first reads of single-key values started together go to etcd as read-only `Txn`s
 * of up to 128 reads (`readKeyBatched`), on real etcd: every key's value and its `Txn`'s
 * revision come back, a key alone is an ordinary range read, a `Txn` too large for the
 * client is split, and a read whose signal aborts rejects without failing the others.
 */

import test from "ava";
import { GRPCResourceExhastedError, type IRangeRequest } from "etcd3";
import { MAX_TXN_OPS, readKeyBatched } from "../../src/etcd/key-read-batch.js";
import { type EtcdPort, portOf } from "../../src/etcd/port.js";
import { lazyClient, withCluster } from "../harness/ava.js";

const cluster = withCluster(test, { members: 1 });
const etcd = lazyClient(cluster);

const OPTIONS = { idleTimeoutMs: 5000 };

/** A port of its own batch (its own `openWatchStream`), counting its reads. */
function countingPort(change?: Partial<EtcdPort>): {
  port: EtcdPort;
  txns: number[];
  pages: number;
} {
  const client = portOf(etcd());
  const counts = { port: undefined as unknown as EtcdPort, txns: [] as number[], pages: 0 };
  counts.port = {
    ...client,
    openWatchStream: () => client.openWatchStream(),
    readPage: (request, options) => {
      counts.pages += 1;
      return client.readPage(request, options);
    },
    readKeys: (requests, options) => {
      counts.txns.push(requests.length);
      return client.readKeys(requests, options);
    },
    ...change,
  };
  return counts;
}

async function writeKeys(prefix: string, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
  for (let i = 0; i < count; i += MAX_TXN_OPS) {
    const success = keys
      .slice(i, i + MAX_TXN_OPS)
      .map((key) => ({ request_put: { key: Buffer.from(key), value: Buffer.from(`v:${key}`) } }));
    await etcd().kv.txn({ success });
  }
  return keys;
}

const request = (key: string): IRangeRequest => ({ key: Buffer.from(key) });

test("keys asked for in one turn are read in Txns of at most 128, every key at its Txn's revision", async (t) => {
  const keys = await writeKeys("/key-read-batch/many/", 300);
  const counts = countingPort();
  const answers = await Promise.all(
    [...keys, "/key-read-batch/many/absent"].map((key) =>
      readKeyBatched(counts.port, request(key), OPTIONS),
    ),
  );
  t.deepEqual(counts.txns, [128, 128, 45], "three Txns, none over 128 reads");
  t.is(counts.pages, 0, "no range request of its own");
  t.deepEqual(
    answers.slice(0, -1).map((answer) => answer.kvs.map((kv) => kv.value.toString())),
    keys.map((key) => [`v:${key}`]),
    "each key's value, in the order asked",
  );
  t.deepEqual(answers.at(-1)?.kvs, [], "an absent key: no kv");
  const stored = Number(
    (await etcd().kv.range({ key: Buffer.from(keys[0] as string) })).header.revision,
  );
  for (const [i, answer] of answers.entries()) {
    t.true(Number(answer.header.revision) >= stored, "header: the Txn's revision");
    t.is(
      answer.header.revision,
      answers[i - (i % MAX_TXN_OPS)]?.header.revision as string,
      "same Txn, same revision",
    );
    t.truthy(answer.header.cluster_id, "header: the cluster id");
  }
});

test("a key asked for alone is an ordinary range read", async (t) => {
  const [key] = await writeKeys("/key-read-batch/alone/", 1);
  const counts = countingPort();
  const answer = await readKeyBatched(counts.port, request(key as string), OPTIONS);
  t.deepEqual(
    answer.kvs.map((kv) => kv.value.toString()),
    [`v:${key}`],
  );
  t.deepEqual([counts.txns, counts.pages], [[], 1]);
});

test("a Txn over the client's receive limit is split until it fits", async (t) => {
  const keys = await writeKeys("/key-read-batch/split/", 10);
  const counts = countingPort();
  const client = counts.port;
  counts.port = {
    ...client,
    readKeys: (requests, options) => {
      if (requests.length > 3) {
        counts.txns.push(-requests.length);
        return Promise.reject(new GRPCResourceExhastedError("received message larger than max"));
      }
      return client.readKeys(requests, options);
    },
  };
  const answers = await Promise.all(
    keys.map((key) => readKeyBatched(counts.port, request(key), OPTIONS)),
  );
  t.deepEqual(
    answers.map((answer) => answer.kvs[0]?.value.toString()),
    keys.map((key) => `v:${key}`),
  );
  t.deepEqual(counts.txns, [-10, -5, -5, 3, 2, 3, 2], "10 refused, halves of 5 refused, then fit");
});

test("an aborted read rejects with its signal's reason; the other reads of its Txn are answered", async (t) => {
  const keys = await writeKeys("/key-read-batch/abort/", 3);
  const counts = countingPort();
  const stop = new AbortController();
  const reason = new Error("stopped");
  const reads = keys.map((key, i) =>
    readKeyBatched(
      counts.port,
      request(key),
      i === 1 ? { ...OPTIONS, signal: stop.signal } : OPTIONS,
    ),
  );
  stop.abort(reason);
  const [first, second, third] = await Promise.allSettled(reads);
  t.deepEqual(second, { status: "rejected", reason });
  t.is(first?.status === "fulfilled" && first.value.kvs[0]?.value.toString(), `v:${keys[0]}`);
  t.is(third?.status === "fulfilled" && third.value.kvs[0]?.value.toString(), `v:${keys[2]}`);
  t.deepEqual(counts.txns, [2], "the aborted read is left out of the Txn");
});
