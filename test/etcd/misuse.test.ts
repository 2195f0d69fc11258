/**
 * Bad input and misuse against a real etcd member: odd keys (`\0`, 32 KiB, the empty key
 * of a Namespace, keys that are not valid UTF-8 written by another client), values at
 * and over etcd's request limit, a closed client, a closed watcher, an aborted signal,
 * decoders that throw non-errors or return promises, watchers abandoned without
 * `close()`. Each ends in a typed error or a documented behaviour (RELIABILITY.md, "Bad
 * input and misuse"). Checks that need no etcd: test/unit/misuse.test.ts.
 */

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import test, { type ExecutionContext } from "ava";
import {
  ClientClosedError,
  type Etcd3,
  GRPCInvalidArgumentError,
  GRPCResourceExhastedError,
} from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  DecodeError,
  type Decoder,
  decoders,
  EtcdRangeValue,
  EtcdValue,
  WatcherClosedError,
  WatchFailedError,
} from "../../src/index.js";
import { lazyClient, withCluster } from "../harness/ava.js";
import { deadline, StatusLog } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";
import { flush, isPending } from "../helpers/pending.js";
import { WatchCounter } from "../helpers/watch-counter.js";
import { watcher } from "../helpers/watcher.js";

const cluster = withCluster(test, { members: 1 });
checkLeaks(test, cluster);
const etcd = lazyClient(cluster);

/** A client of its own (to close, or to trip its circuit breaker), closed at the end. */
function ownClient(t: ExecutionContext): Etcd3 {
  const client = cluster().client();
  t.teardown(() => client.close());
  return client;
}

const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("latin1");

// --- Keys ---------------------------------------------------------------------------

test("key: \\0 inside keys and prefixes is an ordinary byte (EtcdValue, range, snapshots)", async (t) => {
  await etcd().put("/nul/a\0b").value("1");
  await etcd().put("/nul/a\0c").value("2");
  await etcd().put("/nul/a").value("not under the prefix a\\0");
  const w = watcher(t, new EtcdValue(etcd(), "/nul/a\0b", { decoder: decoders.text }));
  t.is(await w.get(), "1");
  const range = new EtcdRangeValue(etcd(), { prefix: "/nul/a\0" }, { decoder: decoders.text });
  const snapshot = await watcher(t, range.snapshots()).get();
  t.deepEqual(
    [...snapshot.entries],
    [
      ["/nul/a\0b", "1"],
      ["/nul/a\0c", "2"],
    ],
  );
  const next = w.get({ signal: deadline(10_000, "an update of a key with \\0") });
  await etcd().put("/nul/a\0b").value("3");
  t.is(await next, "3");
});

test("key: a 32 KiB key is read and watched, and so is a range under a 32 KiB prefix", async (t) => {
  const long = `/long/${"k".repeat(32 * 1024)}`;
  await etcd().put(`${long}/x`).value("1");
  const w = watcher(t, new EtcdValue(etcd(), `${long}/x`, { decoder: decoders.text }));
  t.is(await w.get(), "1");
  const perKey = watcher(t, new EtcdRangeValue(etcd(), { prefix: `${long}/` }));
  t.is((await perKey.get()).key, `${long}/x`);
  const next = w.get({ signal: deadline(10_000, "an update of a 32 KiB key") });
  await etcd().put(`${long}/x`).value("2");
  t.is(await next, "2");
  const update = await perKey.get({ signal: deadline(10_000, "a range update") });
  t.is(update.key.length, long.length + 2);
});

test('key: the empty key of a Namespace is the namespace\'s own key; prefix "" includes it as ""', async (t) => {
  const ns = etcd().namespace("/ns-empty/");
  await etcd().put("/ns-empty/").value("the namespace's own key");
  await etcd().put("/ns-empty/child").value("child");
  const w = watcher(t, new EtcdValue(ns, "", { decoder: decoders.text }));
  t.is(await w.get(), "the namespace's own key");
  const snapshot = await watcher(
    t,
    new EtcdRangeValue(ns, { prefix: "" }, { decoder: decoders.text }).snapshots(),
  ).get();
  t.deepEqual(
    [...snapshot.entries],
    [
      ["", "the namespace's own key"],
      ["child", "child"],
    ],
  );
});

/** Three etcd keys whose user keys are all `/bin/\uFFFD`: EF BF BD (valid), FE, FF. */
const BIN = {
  replacement: Buffer.from("/bin/\uFFFD"),
  fe: Buffer.concat([Buffer.from("/bin/"), Buffer.from([0xfe])]),
  ff: Buffer.concat([Buffer.from("/bin/"), Buffer.from([0xff])]),
};

test("keys that are not valid UTF-8 (written as Buffers): each is returned as its own update, under the lossy user key", async (t) => {
  await etcd().put(BIN.replacement).value("valid U+FFFD");
  await etcd().put(BIN.fe).value("fe");
  await etcd().put(BIN.ff).value("ff");
  const range = new EtcdRangeValue(etcd(), { prefix: "/bin/" });
  const perKey = watcher(t, range);
  const signal = deadline(10_000, "the initial snapshot's three keys");
  const snapshot = [await perKey.get(signal), await perKey.get(signal), await perKey.get(signal)];
  t.deepEqual(
    snapshot.map((u) => [u.key, text(u.value)]),
    [
      ["/bin/\uFFFD", "valid U+FFFD"], // EF BF BD sorts first
      ["/bin/\uFFFD", "fe"],
      ["/bin/\uFFFD", "ff"],
    ],
    "three keys, three entries, in byte order: none merged",
  );

  // Changed while the consumer is busy: still one update per etcd key.
  await etcd().put(BIN.fe).value("fe 2");
  const ff2 = Number((await etcd().put(BIN.ff).value("ff 2")).header.revision);
  const deleted = Number((await etcd().delete().key(BIN.fe).exec()).header.revision);
  // Every watcher of the range shares its state: once a snapshot is at the delete's
  // revision, the per-key watcher has recorded all three changes.
  await watcher(t, range.snapshots()).get({
    filter: (s) => s.revision >= deleted,
    signal: deadline(10_000, "the delete to arrive"),
  });
  const more = deadline(10_000, "two updates");
  const updates = [await perKey.get(more), await perKey.get(more)];
  t.deepEqual(
    updates.map((u) => [u.key, text(u.value), u.revision]),
    [
      ["/bin/\uFFFD", "ff 2", ff2],
      ["/bin/\uFFFD", undefined, deleted],
    ],
    "FF's put and FE's delete are two updates; FE's put is conflated into its delete",
  );
  t.true(await isPending(perKey.get()), "nothing else: FF was not reported deleted");
});

test("snapshots(): keys with equal lossy user keys share one entry, the last in key order wins (documented)", async (t) => {
  const prefix = "/bin2/";
  const fe = Buffer.concat([Buffer.from(prefix), Buffer.from([0xfe])]);
  const ff = Buffer.concat([Buffer.from(prefix), Buffer.from([0xff])]);
  await etcd().put(fe).value("fe");
  await etcd().put(ff).value("ff");
  const range = new EtcdRangeValue(etcd(), { prefix });
  const snapshots = watcher(t, range.snapshots());
  const first = await snapshots.get();
  t.deepEqual(
    [...first.entries].map(([k, v]) => [k, text(v)]),
    [[`${prefix}\uFFFD`, "ff"]],
  );
  // Deleting FE must not drop FF: the library keeps the two keys apart internally.
  await etcd().delete().key(fe).exec();
  const after = await snapshots.get({ signal: deadline(10_000, "the snapshot after FE's delete") });
  t.deepEqual(
    [...after.entries].map(([k, v]) => [k, text(v)]),
    [[`${prefix}\uFFFD`, "ff"]],
    "FF is still present",
  );
  await etcd().delete().key(ff).exec();
  const empty = await snapshots.get({ signal: deadline(10_000, "the snapshot after FF's delete") });
  t.is(empty.entries.size, 0);
});

// --- Values --------------------------------------------------------------------------

test("value: puts over etcd's 1.5 MiB request limit are refused (never delivered); one just under it arrives whole", async (t) => {
  await etcd().put("/big/key").value("small");
  const w = watcher(t, new EtcdValue(etcd(), "/big/key"));
  t.is(text(await w.get()), "small");
  const next = w.get({ signal: deadline(20_000, "the value under the limit") });
  next.catch(() => {}); // awaited below

  // Own clients: a refused put counts as a failure of the member for etcd3's breaker.
  const tooBig = ownClient(t);
  const error3MiB = await t.throwsAsync(
    tooBig
      .put("/big/key")
      .value(Buffer.alloc(3 * 1024 * 1024, 1))
      .exec(),
    { instanceOf: GRPCResourceExhastedError },
  );
  t.regex(error3MiB.message, /received message larger than max/, "gRPC's 2 MiB server limit");
  const justOver = ownClient(t);
  const errorOver = await t.throwsAsync(
    justOver
      .put("/big/key")
      .value(Buffer.alloc(1.5 * 1024 * 1024 + 1024, 2))
      .exec(),
    { instanceOf: GRPCInvalidArgumentError },
  );
  t.regex(errorOver.message, /request is too large/, "etcd's --max-request-bytes");

  const near = Buffer.alloc(1.5 * 1024 * 1024 - 4096, 3);
  const put = await etcd().put("/big/key").value(near).exec();
  const got = await next;
  t.is(got?.length, near.length, "the watcher skipped nothing real and got the near-limit value");
  t.true(Buffer.from(got!).equals(near), "byte for byte");
  t.is(w.revision, Number(put.header.revision));
  const fresh = watcher(t, new EtcdRangeValue(etcd(), { prefix: "/big/" }).snapshots());
  t.is((await fresh.get()).entries.get("/big/key")?.length, near.length, "a read gets it too");
});

// --- A closed client or watcher --------------------------------------------------------

test("closed client: client.close() before the first get: WatchFailedError (cause ClientClosedError) at once", async (t) => {
  const client = ownClient(t);
  client.close();
  const value = new EtcdValue(client, "/closed/before");
  const w = watcher(t, value);
  const error = await t.throwsAsync(w.get({ signal: deadline(5000, "the failure") }), {
    instanceOf: WatchFailedError,
  });
  t.true(error.cause instanceof ClientClosedError, `cause: ${String(error.cause)}`);
  const status = watcher(t, value.status());
  t.is((await status.get()).state, "failed");
  const range = watcher(t, new EtcdRangeValue(client, { prefix: "/closed/" }));
  const rangeError = await t.throwsAsync(range.get(), { instanceOf: WatchFailedError });
  t.true(rangeError.cause instanceof ClientClosedError);
});

test("closed client: client.close() while watching: pending gets reject with WatchFailedError (cause ClientClosedError), no retry", async (t) => {
  const client = ownClient(t);
  await client.put("/closed/while/key").value("v");
  // A short idle check so the test is quick; by default the close is seen within 3 s.
  const tuning = withInternal({}, { tuning: { idleCheckMs: 200 } });
  const value = new EtcdValue(client, "/closed/while/key", tuning);
  const range = new EtcdRangeValue(client, { prefix: "/closed/while/" }, tuning);
  const log = new StatusLog(value);
  t.teardown(() => log.close());
  const rangeLog = new StatusLog(range);
  t.teardown(() => rangeLog.close());
  const w = watcher(t, value);
  const perKey = watcher(t, range);
  await w.get();
  await perKey.get();
  await log.next((s) => s.state === "live", 0, 10_000, "the key's watch live");
  await rangeLog.next((s) => s.state === "live", 0, 10_000, "the range's watch live");
  const pending = [w.get(), perKey.get()];
  for (const get of pending) get.catch(() => {}); // awaited below
  client.close();
  for (const get of pending) {
    const error = await t.throwsAsync(get, { instanceOf: WatchFailedError });
    t.true(error.cause instanceof ClientClosedError, `cause: ${String(error.cause)}`);
  }
  const failed = await log.next((s) => s.state === "failed", 0, 10_000, "status failed");
  const transient = log.states.slice(0, failed.index).filter((s) => s.error !== undefined);
  t.deepEqual(transient, [], "failed at once, without a retry");
});

test("closed client: a process whose client was closed while watching exits by itself, watchers never closed", async (t) => {
  const result = await runFixture(["closed-client", cluster().endpoints[0]!]);
  t.is(result.signal, null, `exited by itself; ${result.output}`);
  t.is(result.code, 0, result.output);
  t.regex(result.output, /failed with ClientClosedError/);
});

test("closed watcher: get() after close() rejects with WatcherClosedError and starts no etcd watch", async (t) => {
  using counter = new WatchCounter();
  const w = new EtcdValue(etcd(), "/closed/watcher").watch();
  w.close();
  await t.throwsAsync(w.get(), { instanceOf: WatcherClosedError });
  await t.throwsAsync(w.get({ backlogOnly: true }), { instanceOf: WatcherClosedError });
  await flush();
  t.is(counter.open('key "/closed/watcher"'), 0, "no etcd watch was opened");
});

test("abort: an already-aborted signal rejects with its reason at once, value ready or not, and starts no etcd watch", async (t) => {
  using counter = new WatchCounter();
  await etcd().put("/aborted/key").value("v");
  const reason = new Error("already aborted");
  const signal = AbortSignal.abort(reason);
  const w = watcher(t, new EtcdValue(etcd(), "/aborted/key", { decoder: decoders.text }));
  await t.throwsAsync(w.get(signal), { is: reason }, "before any I/O");
  await flush();
  t.is(counter.open('key "/aborted/key"'), 0, "the aborted get started nothing");
  t.is(await w.get(), "v", "the watcher stays usable");
  await t.throwsAsync(w.get({ signal }), { is: reason }, "with a value ready");
  await t.throwsAsync(w.get({ signal, backlogOnly: true }), { is: reason }, "and backlogOnly");
});

// --- Decoders --------------------------------------------------------------------------

test("decode: a decoder throwing non-Error values gives a DecodeError with that cause, and the watcher goes on", async (t) => {
  const thrown: unknown[] = ["a string", undefined, null, 42, { code: "E_OBJECT" }];
  const decoder: Decoder<string> = (bytes) => {
    const text = Buffer.from(bytes).toString();
    if (text.startsWith("bad")) throw thrown[Number(text.slice(3))];
    return text;
  };
  await etcd().put("/decode/nonerror").value("good 0");
  const w = watcher(t, new EtcdValue(etcd(), "/decode/nonerror", { decoder }));
  t.is(await w.get(), "good 0");
  for (let i = 0; i < thrown.length; i++) {
    const next = w.get({ signal: deadline(10_000, `update bad${i}`) });
    next.catch(() => {}); // awaited below
    const put = await etcd().put("/decode/nonerror").value(`bad${i}`);
    const error = await t.throwsAsync(next, { instanceOf: DecodeError });
    t.is(error.cause, thrown[i], `cause is what was thrown: ${String(thrown[i])}`);
    t.is(error.key, "/decode/nonerror");
    t.is(error.revision, Number(put.header.revision));
  }
  const next = w.get({ signal: deadline(10_000, "a good value after the bad ones") });
  await etcd().put("/decode/nonerror").value("good 1");
  t.is(await next, "good 1");
});

test("decode: a decoder returning a promise gives a DecodeError, and its rejection is not unhandled", async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on("unhandledRejection", onUnhandled);
  t.teardown(() => process.off("unhandledRejection", onUnhandled));
  const decoder = ((bytes: Uint8Array) =>
    Buffer.from(bytes).toString() === "reject"
      ? Promise.reject(new Error("async decoder failed"))
      : Promise.resolve("never used")) as unknown as Decoder<string>;
  await etcd().put("/decode/promise").value("resolve");
  const w = watcher(t, new EtcdValue(etcd(), "/decode/promise", { decoder }));
  const first = await t.throwsAsync(w.get(), { instanceOf: DecodeError });
  t.regex(first.message, /returned a promise; decoders must be synchronous/);
  const next = w.get({ signal: deadline(10_000, "the rejecting decode") });
  next.catch(() => {}); // awaited below
  await etcd().put("/decode/promise").value("reject");
  await t.throwsAsync(next, { instanceOf: DecodeError });
  await flush();
  await flush();
  t.deepEqual(unhandled, [], "the decoder's rejected promise was handled");
});

// --- Watchers dropped without close() --------------------------------------------------

test("abandoned watcher: once garbage-collected, its etcd watch is released; one with a pending get is kept (child with --expose-gc)", async (t) => {
  const result = await runFixture(["abandoned", cluster().endpoints[0]!], ["--expose-gc"]);
  t.is(result.signal, null, `exited by itself; ${result.output}`);
  t.is(result.code, 0, result.output);
  t.regex(result.output, /abandoned watchers collected; their etcd watches ended/);
  t.regex(result.output, /the watcher with a pending get was kept and got its value/);
});

const fixture = fileURLToPath(new URL("fixtures/misuse-then-exit.ts", import.meta.url));

/** Runs the fixture in a child; SIGKILLs it after 30 s (then `signal` tells). */
function runFixture(
  args: readonly string[],
  nodeArgs: readonly string[] = [],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", fixture, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, output });
    });
  });
}
