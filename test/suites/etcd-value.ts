/**
 * EtcdValue on a store (real etcd or MemoryEtcd, see test/harness/backends.ts): the
 * shared Watcher contract, then what is specific to one etcd key (absent keys,
 * deletions, empty values, the read→watch gap, decode errors, conflation, sharing one
 * etcd watch, status).
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { TestFn } from "ava";
import type { Etcd3 } from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  DecodeError,
  decoders,
  ETCD_WATCH_CHANNEL,
  EtcdValue,
  type EtcdWatchMessage,
} from "../../src/index.js";
import { watcherContract } from "../contract/watcher-contract.js";
import type { Backend } from "../harness/backends.js";
import { isPending } from "../helpers/pending.js";
import { WatchCounter } from "../helpers/watch-counter.js";

/** Registers the EtcdValue tests on `backend`. */
export function etcdValueSuite(test: TestFn, backend: () => Backend): void {
  let client: Etcd3 | undefined;
  const etcd = (): Etcd3 => {
    client ??= backend().client();
    return client;
  };

  watcherContract<string | undefined>(test, "EtcdValue", async (id) => {
    const key = `/contract/${id}`;
    await etcd().put(key).value("initial");
    const value = new EtcdValue(etcd(), key, { decoder: decoders.text });
    return {
      value,
      write: async (token) => {
        await etcd().put(key).value(token);
      },
      tokenOf: (v) => v,
      dispose: async () => {},
    };
  });

  test("get: first call returns undefined at once for an absent key, at the read's revision", async (t) => {
    const before = await backend().revision();
    const w = new EtcdValue(etcd(), "/absent/never-written").watch();
    t.is(await w.get(), undefined, "absent key: undefined");
    t.true((w.revision ?? 0) >= before, "revision is the read's revision");
    w.close();
  });

  test("get: a deletion returns undefined at the delete's revision", async (t) => {
    await etcd().put("/del/key").value("x");
    const w = new EtcdValue(etcd(), "/del/key", { decoder: decoders.text }).watch();
    t.is(await w.get(), "x");
    const deleted = await etcd().delete().key("/del/key").exec();
    t.is(await w.get(), undefined, "deleted: undefined");
    t.is(w.revision, Number(deleted.header.revision), "the delete's revision");
    w.close();
  });

  test("get: an empty value is present, not deleted", async (t) => {
    await etcd().put("/empty/key").value("");
    const w = new EtcdValue(etcd(), "/empty/key", { decoder: decoders.text }).watch();
    t.is(await w.get(), "", "an empty value is the empty string, not undefined");
    w.close();
  });

  test("get: a put of identical bytes is a new revision", async (t) => {
    await etcd().put("/same/key").value("same");
    const w = new EtcdValue(etcd(), "/same/key", { decoder: decoders.text }).watch();
    await w.get();
    const first = w.revision ?? 0;
    const next = w.get();
    const put = await etcd().put("/same/key").value("same");
    t.is(await next, "same");
    t.is(w.revision, Number(put.header.revision), "revision of the second put");
    t.true((w.revision ?? 0) > first);
    w.close();
  });

  test("get: a write between the initial read and the watch is not lost", async (t) => {
    await etcd().put("/gap/key").value("before");
    let written = 0;
    const value = new EtcdValue(
      etcd(),
      "/gap/key",
      withInternal(
        {
          decoder: decoders.text,
        },
        {
          hooks: {
            afterRead: async () => {
              // The window between the read at R and the watch from R+1, held open.
              if (written++ === 0) await etcd().put("/gap/key").value("in the gap");
            },
          },
        },
      ),
    );
    const w = value.watch();
    t.is(await w.get(), "before", "the read's value comes first");
    t.is(await w.get(), "in the gap", "the write in the gap arrives through the watch");
    w.close();
  });

  test("get: 1000 puts while the consumer sleeps end with the last one", async (t) => {
    const w = new EtcdValue(etcd(), "/burst/key", { decoder: decoders.text }).watch();
    await w.get();
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      last = Number((await etcd().put("/burst/key").value(`v${i}`)).header.revision);
    }
    const seen = await w.get({ filter: () => (w.revision ?? 0) >= 0 });
    const final = seen === "v999" ? seen : await w.get({ filter: (v) => v === "v999" });
    t.is(final, "v999");
    t.is(w.revision, last, "the last put's revision");
    t.true(await isPending(w.get()), "nothing newer after the last");
    w.close();
  });

  test("decode: a rejected value is a DecodeError for that update only", async (t) => {
    await etcd().put("/decode/key").value('{"n":1}');
    const w = new EtcdValue(etcd(), "/decode/key", {
      decoder: decoders.json<{ n: number }>(),
    }).watch();
    t.deepEqual(await w.get(), { n: 1 });
    const bad = await etcd().put("/decode/key").value("{not json");
    const error = await t.throwsAsync(w.get(), { instanceOf: DecodeError });
    t.is(error.key, "/decode/key");
    t.is(error.revision, Number(bad.header.revision), "the bad update's revision");
    t.true(error.cause instanceof SyntaxError);
    await etcd().put("/decode/key").value('{"n":2}');
    t.deepEqual(await w.get(), { n: 2 }, "the next good value is returned normally");
    w.close();
  });

  test("sharing: 1000 watchers of one EtcdValue use one etcd watch, released by the last close", async (t) => {
    using counter = new WatchCounter();
    const key = `/shared/${backend().name}/key`; // the watch counter sees every backend
    const target = `key "${key}"`;
    await etcd().put(key).value("v");
    const value = new EtcdValue(etcd(), key, { decoder: decoders.text });
    const watchers = Array.from({ length: 1000 }, () => value.watch());
    const values = await Promise.all(watchers.map((w) => w.get()));
    t.true(values.every((v) => v === "v"));
    const status = value.status().watch();
    await status.get({ filter: (s) => s.state === "live" });
    status.close();
    t.is(counter.open(target), 1, "one etcd watch for 1000 watchers");
    for (const w of watchers.slice(1)) w.close();
    t.is(counter.open(target), 1, "held while one watcher is open");
    const ended = new Promise<void>((resolve) => {
      const done = (message: unknown): void => {
        const event = message as EtcdWatchMessage;
        if (event.type !== "watch-ended" || event.target !== target) return;
        unsubscribe(ETCD_WATCH_CHANNEL, done);
        resolve();
      };
      subscribe(ETCD_WATCH_CHANNEL, done);
    });
    watchers[0]?.close();
    await ended;
    t.is(counter.open(target), 0, "released when the last watcher closes");
  });

  test("status: connecting, then live with the resume revision", async (t) => {
    await etcd().put("/status/key").value("v");
    const value = new EtcdValue(etcd(), "/status/key");
    const status = value.status().watch();
    t.is((await status.get()).state, "connecting", "no watcher yet: connecting");
    const w = value.watch();
    await w.get();
    const live = await status.get({ filter: (s) => s.state === "live" });
    t.true((live.revision ?? 0) > (w.revision ?? 0), "resume revision is after the read");
    w.close();
    t.is((await status.get()).state, "connecting", "last watcher closed: connecting again");
    status.close();
  });

  test("constructor: rejects a bad key or client with a TypeError", (t) => {
    // @ts-expect-error a number is not a key
    t.throws(() => new EtcdValue(etcd(), 5), { instanceOf: TypeError, message: /`key`/ });
    t.throws(() => new EtcdValue(etcd(), ""), { instanceOf: TypeError, message: /non-empty/ });
    // @ts-expect-error not a client
    t.throws(() => new EtcdValue({}, "/k"), { instanceOf: TypeError, message: /Etcd3/ });
  });
}
