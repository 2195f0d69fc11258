/**
 * MemoryEtcd's faults (twin-only: real etcd's counterparts are in test/etcd/faults*.ts),
 * each with the effect the real fault has on etcd3 and on the library's values:
 * `disconnect` (watch resumes), `freeze`/`thaw` (stall detected, held writes commit at
 * thaw: the ambiguous write), `expireLease`, `wipe` (history replaced), `compact` and
 * `close`.
 */

import test from "ava";
import {
  ClientClosedError,
  type Etcd3,
  GRPCDeadlineExceededError,
  GRPCOutOfRangeError,
  GRPCUnavailableError,
} from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import { decoders, EtcdValue } from "../../src/index.js";
import { MemoryEtcd } from "../../src/memory-etcd/index.js";
import { deadline, watchLogged } from "../helpers/faults.js";
import { isPending } from "../helpers/pending.js";
import { openRawWatch } from "./raw-watch.js";

function twinFor(t: import("ava").ExecutionContext): { twin: MemoryEtcd; client: Etcd3 } {
  const twin = new MemoryEtcd();
  t.teardown(() => twin.close());
  return { twin, client: twin.client() };
}

/** An EtcdValue of `key` with a fast stall check, its status log and one watcher. */
function watched(t: import("ava").ExecutionContext, client: Etcd3, key: string) {
  const value = new EtcdValue(
    client,
    key,
    withInternal(
      { decoder: decoders.text },
      { tuning: { idleCheckMs: 100, answerTimeoutMs: 200 } },
    ),
  );
  const { w: watcher, log } = watchLogged(t, value);
  return { value, log, watcher };
}

test("disconnect: open streams break with UNAVAILABLE then end; a value resumes where it stopped", async (t) => {
  const { twin, client } = twinFor(t);
  await client.put("k").value("1");
  const raw = await openRawWatch(client);
  const { log, watcher } = watched(t, client, "k");
  t.is(await watcher.get(), "1");
  const live = await log.next((s) => s.state === "live", 0, 5000, "live");
  twin.disconnect();
  const error = await raw.ended;
  t.true(error instanceof Error && (error as { code?: number }).code === 14, String(error));
  t.regex(error.message, /^14 UNAVAILABLE: /);
  const stale = await log.next((s) => s.state === "stale", live.index, 5000, "stale");
  await log.next((s) => s.state === "live", stale.index, 5000, "live again");
  const put = await client.put("k").value("2").exec();
  t.is(await watcher.get({ signal: deadline(5000, "the put after the reconnect") }), "2");
  t.is(watcher.revision, Number(put.header.revision));
});

test("freeze: requests and events wait unanswered; thaw applies and answers them in order", async (t) => {
  const { twin, client } = twinFor(t);
  const { log, watcher } = watched(t, client, "k");
  t.is(await watcher.get(), undefined);
  await log.next((s) => s.state === "live", 0, 5000, "live");
  twin.freeze();
  // Raw KV calls reach the twin in call order (etcd3's builders add microtask hops).
  const first = client.kv.put({ key: Buffer.from("k"), value: Buffer.from("1") });
  const read = client.kv.range({ key: Buffer.from("k") });
  const second = client.kv.put({ key: Buffer.from("k"), value: Buffer.from("2") });
  const stale = await log.next((s) => s.state === "stale", 0, 5000, "the frozen stream detected");
  t.true(await isPending(first), "a put to a frozen member is not answered");
  t.true(await isPending(read));
  t.is(twin.revision, 1, "nor applied");
  twin.thaw();
  const answers = await Promise.all([first, read, second]);
  t.deepEqual(
    [answers[0].header.revision, answers[1].kvs[0]?.value.toString(), answers[2].header.revision],
    ["2", "1", "3"],
    "applied in the order sent",
  );
  t.is(await watcher.get({ signal: deadline(5000, "the value after thaw") }), "2");
  await log.next((s) => s.state === "live", stale.index, 5000, "live after thaw");
});

test("freeze: a write whose deadline passes during a freeze fails with DEADLINE_EXCEEDED and still commits at thaw", async (t) => {
  const { twin, client } = twinFor(t);
  const pool = (client as unknown as { pool: { withConnection: Etcd3["pool"]["withConnection"] } })
    .pool;
  twin.freeze();
  const attempt = pool.withConnection(
    "KV",
    ({ client: kv }) =>
      new Promise((resolve, reject) => {
        (kv as unknown as Record<string, (...args: unknown[]) => void>).put?.(
          { key: Buffer.from("k"), value: Buffer.from("v") },
          {},
          { deadline: Date.now() + 50 },
          (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response)),
        );
      }),
  );
  const error = await t.throwsAsync(attempt);
  t.is((error as { code?: number }).code, 4);
  t.is(error?.message, "4 DEADLINE_EXCEEDED: Deadline exceeded");
  t.true(new GRPCDeadlineExceededError("x") instanceof Error);
  t.is(await isPending(client.get("k").string()), true);
  twin.thaw();
  t.is(await client.get("k").string(), "v", "the write the caller gave up on is committed");
});

test("expireLease: the lease's keys go in one revision; keepalives then answer TTL 0", async (t) => {
  const { twin, client } = twinFor(t);
  const { watcher } = watched(t, client, "b");
  const grant = await client.leaseClient.leaseGrant({ TTL: 60 });
  await client.put("b").value("x").lease(grant.ID).exec();
  await client.put("a").value("y").lease(grant.ID).exec();
  t.is(await watcher.get({ signal: deadline(5000, "the leased value") }), "x");
  const before = twin.revision;
  twin.expireLease(grant.ID);
  t.is(twin.revision, before + 1);
  t.is(await watcher.get({ signal: deadline(5000, "the deletion") }), undefined);
  t.is((await client.leaseClient.leaseTimeToLive({ ID: grant.ID })).TTL, "-1");
  const lease = client.lease(60, { autoKeepAlive: false });
  const lost = new Promise((resolve) => lease.on("lost", resolve));
  const id = await lease.grant();
  twin.expireLease(id);
  await lease.keepaliveOnce().catch(() => undefined);
  t.truthy(await lost, "etcd3's lease reports lost on a keepalive answered with TTL 0");
  twin.expireLease("12345");
  t.pass("an unknown lease is ignored");
});

test("wipe: empty store at revision 1 under a new cluster id; a value resyncs to the new history", async (t) => {
  const { twin, client } = twinFor(t);
  await client.put("k").value("old").exec();
  await client.put("k").value("older").exec();
  const { watcher } = watched(t, client, "k");
  t.is(await watcher.get(), "older");
  const cluster = (await client.get("k").exec()).header.cluster_id;
  twin.wipe();
  t.is(twin.revision, 1);
  const after = await client.get("x").exec();
  t.is(after.header.revision, "1");
  t.not(after.header.cluster_id, cluster);
  await client.put("k").value("new").exec();
  t.is(await watcher.get({ signal: deadline(5000, "the value after the wipe") }), "new");
});

test("compact: default the current revision; reads below fail, compacting again fails", async (t) => {
  const { twin, client } = twinFor(t);
  const first = await client.put("k").value("1").exec();
  await client.put("k").value("2").exec();
  twin.compact();
  await t.throwsAsync(client.get("k").revision(first.header.revision).exec(), {
    instanceOf: GRPCOutOfRangeError,
  });
  t.is(await client.get("k").revision(twin.revision).string(), "2");
  t.throws(() => twin.compact(), {
    instanceOf: GRPCOutOfRangeError,
    message: "11 OUT_OF_RANGE: etcdserver: mvcc: required revision has been compacted",
  });
  t.throws(() => twin.compact(twin.revision + 1), { instanceOf: GRPCOutOfRangeError });
});

test("close: held requests fail UNAVAILABLE, streams break, clients are closed", async (t) => {
  const twin = new MemoryEtcd();
  const client = twin.client();
  const raw = await openRawWatch(client);
  twin.freeze();
  const held = client.put("k").value("v").exec();
  t.true(await isPending(held), "held by the freeze");
  twin.close();
  await t.throwsAsync(held, {
    instanceOf: GRPCUnavailableError,
    message: "14 UNAVAILABLE: MemoryEtcd closed",
  });
  t.regex((await raw.ended).message, /^14 UNAVAILABLE/);
  await t.throwsAsync(client.get("k").exec(), { instanceOf: ClientClosedError });
  await t.throwsAsync(twin.client().get("k").exec(), { instanceOf: ClientClosedError });
  twin.close();
  t.pass("close() is idempotent");
});
