/**
 * Writes under faults of a single real etcd member: the at-most-once rule (a write whose
 * answer is lost is reported ambiguous and never sent again, where etcd3's own retry
 * policy applies it twice), and writes that certainly never left (member down)
 * waiting, then landing once, or giving up when their signal aborts. Serial: each test
 * disturbs the member or its link.
 */

import test from "ava";
import type { Etcd3 } from "etcd3";
import { AmbiguousWriteError, codecs, decoders, EtcdValue } from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { deadline, recommendedClient } from "../helpers/faults.js";
import { isPending } from "../helpers/pending.js";

const cluster = withCluster(test, { members: 1, memberControl: true });
const member = () => cluster().members[0]!;
let direct: Etcd3 | undefined;
/** A client straight to the member, for checking what is stored. */
const etcd = (): Etcd3 => {
  direct ??= cluster().client();
  return direct;
};

let unique = 0;
const key = (name: string): string => `/faults/${name}/${++unique}`;

/** How many times the key was written since it was created (0: absent). */
async function version(name: string): Promise<number> {
  const kv = (await etcd().get(name).exec()).kvs[0];
  return kv === undefined ? 0 : Number(kv.version);
}

/** A deferred promise: `resolve` from outside. */
function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Sends `write` through `proxy` with the answer lost: requests pass, answers are held
 * (`oneway`) until a watcher of `name` on the direct client sees `token` (etcd applied
 * it), then the held connection is reset (the answer is lost) and the link passes again.
 * Resolves or rejects like `write`.
 */
async function withAnswerLost<R>(
  proxy: TcpProxy,
  name: string,
  token: string,
  write: () => Promise<R>,
): Promise<R> {
  const applied = new EtcdValue(etcd(), name, { decoder: decoders.text }).watch();
  try {
    await applied.get();
    proxy.setMode("oneway");
    const pending = write();
    pending.catch(() => {});
    await applied.get({ filter: (v) => v === token, signal: deadline(20_000, `${token} applied`) });
    proxy.setMode("drop");
    proxy.setMode("pass");
    return await pending;
  } finally {
    applied.close();
  }
}

test.serial(
  "at most once: a write applied whose answer is lost rejects with AmbiguousWriteError and is not sent again; etcd3's own put is applied twice",
  async (t) => {
    const proxy = await TcpProxy.start(Number(new URL(member().clientUrl).port));
    t.teardown(() => proxy.close());
    const ours = cluster().client({ hosts: [proxy.url] });
    const plain = cluster().client({ hosts: [proxy.url] });
    const name = key("ambiguous");
    const value = new EtcdValue(ours, name, { codec: codecs.text });
    t.true((await value.set("warm-up")).ok, "connected through the proxy");
    const error = await t.throwsAsync(
      withAnswerLost(proxy, name, "lost answer", () => value.set("lost answer")),
      { instanceOf: AmbiguousWriteError },
    );
    t.is(error?.key, name);
    t.is(await version(name), 2, "applied exactly once: the warm-up, then the ambiguous write");

    // The control, on the same kind of client: etcd3's default policy retries the put.
    const control = key("etcd3-put");
    await plain.put(control).value("warm-up");
    await withAnswerLost(proxy, control, "lost answer", () =>
      plain.put(control).value("lost answer").exec(),
    );
    t.is(await version(control), 3, "etcd3's put: the warm-up, then the same put twice");
  },
);

test.serial(
  "no connection: a write waits while the member is down, then lands once when it is back",
  async (t) => {
    const name = key("down");
    await etcd().put(name).value("before");
    await member().kill();
    // A client that connects only now: its requests cannot reach etcd (a request sent on
    // a connection that then breaks, e.g. to a member just killed, is ambiguous instead).
    const client = recommendedClient(cluster().endpoints);
    t.teardown(() => client.close());
    const waiting = signalled();
    const value = new EtcdValue(client, name, {
      codec: codecs.text,
      backoff: {
        retry: () => {
          waiting.resolve();
          return true;
        },
      },
    });
    const write = value.set("after", { signal: deadline(60_000, "the write after restart") });
    await Promise.race([waiting.promise, write]);
    t.true(await isPending(write), "an attempt failed unsent: the write waits, without an error");
    await member().restart();
    const result = await write;
    t.true(result.ok, JSON.stringify(result));
    t.is(await version(name), 2, "applied once");
    t.is(await etcd().get(name).string(), "after");
  },
);

test.serial(
  "no connection: the signal bounds the wait: aborting rejects with its reason and writes nothing",
  async (t) => {
    const client = recommendedClient(cluster().endpoints);
    t.teardown(() => client.close());
    const name = key("bounded");
    const waiting = signalled();
    const value = new EtcdValue(client, name, {
      codec: codecs.text,
      backoff: {
        retry: () => {
          waiting.resolve();
          return true;
        },
      },
    });
    await member().kill();
    t.teardown(() => (member().running ? undefined : member().restart()));
    const controller = new AbortController();
    const write = value.set("never", { signal: controller.signal });
    await Promise.race([waiting.promise, write]);
    const reason = new Error("gave up");
    controller.abort(reason);
    const error = await t.throwsAsync(write);
    t.is(error, reason, "rejects with signal.reason");
    await member().restart();
    t.is(await version(name), 0, "nothing written, also after the member is back");
  },
);
