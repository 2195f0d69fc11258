/**
 * EtcdRangeValue on a store (real etcd or MemoryEtcd, see test/harness/backends.ts): the
 * shared Watcher contract for per-key `watch()` and for `snapshots()`, then what is
 * specific to a key range (snapshot order and revision, conflation per key, deletions,
 * backlogOnly key by key, consistent snapshots, the read→watch gap, resync after
 * compaction, `{ start, end }` and namespaces, decode errors, one shared etcd watch).
 * Prefixes seen by a diagnostics listener carry the backend's name: both backends run
 * in one process. The 100,000-key range is in range-large.test.ts.
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { TestFn } from "ava";
import type { Etcd3, Namespace } from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  BacklogDoneError,
  DecodeError,
  decoders,
  ETCD_WATCH_CHANNEL,
  EtcdRangeValue,
  type EtcdWatchMessage,
  type KeyUpdate,
  type RangeSnapshot,
  type Watcher,
} from "../../src/index.js";
import { watcherContract } from "../contract/watcher-contract.js";
import type { Backend } from "../harness/backends.js";
import { isPending } from "../helpers/pending.js";
import { WatchCounter } from "../helpers/watch-counter.js";
import { watcher } from "../helpers/watcher.js";

/** Registers the EtcdRangeValue tests on `backend`. */
export function rangeValueSuite(test: TestFn, backend: () => Backend): void {
  let client: Etcd3 | undefined;
  const etcd = (): Etcd3 => {
    client ??= backend().client();
    return client;
  };

  /** Puts `key` and returns the put's revision (the key's new mod revision). */
  async function put(
    key: string,
    value: string,
    client: Etcd3 | Namespace = etcd(),
  ): Promise<number> {
    return Number((await client.put(key).value(value)).header.revision);
  }

  /** Deletes `key` and returns the delete's revision. */
  async function del(key: string): Promise<number> {
    return Number((await etcd().delete().key(key).exec()).header.revision);
  }

  /** etcd's key order: bytes of the UTF-8 keys, not JavaScript's UTF-16 string order. */
  const byteOrder = (a: string, b: string): number =>
    Buffer.compare(Buffer.from(a), Buffer.from(b));

  /** What etcd holds under `prefix` (now, or at `revision`), as a map in key order. */
  async function etcdState(prefix: string, revision?: number): Promise<Map<string, string>> {
    const builder = etcd().getAll().prefix(prefix);
    if (revision !== undefined) builder.revision(revision);
    const state = await builder.strings();
    return new Map(Object.entries(state).sort(([a], [b]) => byteOrder(a, b)));
  }

  /**
   * The revisions of the whole-range reads the library made for `target` (e.g.
   * `prefix "/p/"`), from its diagnostics channel, for as long as it is subscribed.
   */
  class ReadLog implements Disposable {
    readonly revisions: number[] = [];
    readonly #target: string;
    readonly #listener = (message: unknown): void => {
      const event = message as EtcdWatchMessage;
      if (event.type === "read" && event.target === this.#target) {
        this.revisions.push(event.revision);
      }
    };

    constructor(target: string) {
      this.#target = target;
      subscribe(ETCD_WATCH_CHANNEL, this.#listener);
    }

    /** The revision of the last read. */
    get last(): number | undefined {
      return this.revisions.at(-1);
    }

    [Symbol.dispose](): void {
      unsubscribe(ETCD_WATCH_CHANNEL, this.#listener);
    }
  }

  /** Resolves at the next `watch-ended` of `target` on the diagnostics channel. */
  function nextWatchEnd(target: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const listener = (message: unknown): void => {
        const event = message as EtcdWatchMessage;
        if (event.type !== "watch-ended" || event.target !== target) return;
        unsubscribe(ETCD_WATCH_CHANNEL, listener);
        resolve();
      };
      subscribe(ETCD_WATCH_CHANNEL, listener);
    });
  }

  /** A per-key update as plain data, for deepEqual. */
  function plain<T>(update: KeyUpdate<T>): { key: string; value: T | undefined; revision: number } {
    return { key: update.key, value: update.value, revision: update.revision };
  }

  // ── The shared contract ──────────────────────────────────────────────────────────────

  watcherContract<KeyUpdate<Uint8Array>>(test, "EtcdRangeValue.watch()", async (id) => {
    const prefix = `/contract/${id}/`;
    const key = `${prefix}the-key`;
    await put(key, "initial");
    const value = new EtcdRangeValue(etcd(), { prefix });
    return {
      value,
      write: async (token) => {
        await put(key, token);
      },
      // The default decoder hands out bytes: the token is their text, for the one key.
      tokenOf: (update) =>
        update.key !== key
          ? `unexpected key ${update.key}`
          : update.value === undefined
            ? undefined
            : Buffer.from(update.value).toString("utf8"),
      dispose: async () => {},
    };
  });

  watcherContract<RangeSnapshot<string>>(test, "EtcdRangeValue.snapshots()", async (id) => {
    const prefix = `/contract/${id}/`;
    const key = `${prefix}the-key`;
    await put(key, "initial");
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    return {
      value: value.snapshots(),
      write: async (token) => {
        await put(key, token);
      },
      tokenOf: (snapshot) => snapshot.entries.get(key),
      dispose: async () => {},
    };
  });

  // ── watch(): the initial snapshot, then changed keys ─────────────────────────────────

  test("watch: the initial snapshot returns one present key per get, in byte order, at the read's revision", async (t) => {
    const prefix = `/${backend().name}/snapshot-order/`; // seen by a diagnostics listener
    // U+FF5E is one UTF-16 unit above the surrogates of U+1F600, but its UTF-8 bytes sort
    // below them: JavaScript's string order and etcd's byte order disagree on these keys.
    const names = ["b", "a", "B", "a0", "a/b", "\uff5e", "\u{1f600}", "\u00e9"];
    const revisions = new Map<string, number>();
    for (const name of names) revisions.set(prefix + name, await put(prefix + name, `v-${name}`));
    const expected = [...revisions.keys()].sort(byteOrder);
    t.notDeepEqual(expected, [...expected].sort(), "the keys tell byte order from UTF-16 order");

    using reads = new ReadLog(`prefix ${JSON.stringify(prefix)}`);
    const w = watcher(t, new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text }));
    const seen: KeyUpdate<string>[] = [];
    for (const _ of expected) {
      seen.push(await w.get());
      t.is(w.revision, reads.last, "during the snapshot, watcher.revision is the read's revision");
    }
    t.deepEqual(
      seen.map((u) => u.key),
      expected,
      "snapshot keys come in etcd's byte order",
    );
    for (const update of seen) {
      const name = update.key.slice(prefix.length);
      t.is(update.value, `v-${name}`, "each key with its value");
      t.is(
        update.revision,
        revisions.get(update.key) ?? -1,
        "update.revision is the key's mod revision",
      );
    }
    t.is(reads.revisions.length, 1, "one whole-range read");
    t.true((reads.last ?? 0) >= Math.max(...revisions.values()), "read after the last put");
    t.true(await isPending(w.get()), "after the snapshot, with nothing changed, get waits");
  });

  test("watch: after the snapshot, a key changed 10 times while the consumer was busy is returned once, with its newest value", async (t) => {
    const prefix = "/conflate/";
    await put(`${prefix}a`, "0");
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    const w = watcher(t, value);
    const probe = watcher(t, value);
    t.is((await w.get()).value, "0", "the snapshot");
    const snapshotRevision = w.revision ?? 0;

    // The consumer is busy: `a` changes first, then `b`, then `a` nine more times, then `c`.
    await put(`${prefix}a`, "1");
    const bRevision = await put(`${prefix}b`, "1");
    let aRevision = 0;
    for (let i = 2; i <= 10; i++) aRevision = await put(`${prefix}a`, String(i));
    const cRevision = await put(`${prefix}c`, "1");
    // Another watcher of the same value has seen `c`: the shared state holds every write.
    await probe.get({ filter: (u) => u.key === `${prefix}c` });

    const updates: KeyUpdate<string>[] = [];
    const revisions: number[] = [];
    for (let i = 0; i < 3; i++) {
      updates.push(await w.get());
      revisions.push(w.revision ?? 0);
    }
    t.deepEqual(
      updates.map(plain),
      [
        { key: `${prefix}b`, value: "1", revision: bRevision },
        { key: `${prefix}a`, value: "10", revision: aRevision },
        { key: `${prefix}c`, value: "1", revision: cRevision },
      ],
      "one update per changed key, newest value, in the order of the keys' latest change",
    );
    t.deepEqual(revisions, [bRevision, aRevision, cRevision], "watcher.revision is the update's");
    t.true(
      [snapshotRevision, ...revisions].every((r, i, all) => i === 0 || r > (all[i - 1] ?? 0)),
      `watcher.revision never goes backwards: ${[snapshotRevision, ...revisions].join(", ")}`,
    );
    t.true(await isPending(w.get()), "each changed key is returned once");
  });

  test("watch: a watcher that joins a running value starts from the current state", async (t) => {
    const prefix = "/join/";
    await put(`${prefix}a`, "1");
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    const first = watcher(t, value);
    await first.get();
    const written = await put(`${prefix}a`, "2");
    await first.get({ filter: (u) => u.value === "2" });
    const late = watcher(t, value);
    const update = await late.get();
    t.deepEqual(plain(update), { key: `${prefix}a`, value: "2", revision: written });
    t.true((late.revision ?? 0) >= written, "its snapshot revision is at or after the last write");
    t.true(await isPending(late.get()), "changes made before it joined are not returned again");
  });

  test("watch and snapshots: keys created after the first read still come in byte order", async (t) => {
    const prefix = "/order-later/";
    await put(`${prefix}m`, "m");
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    const first = watcher(t, value.snapshots());
    await first.get();
    // Created after the read, so after `m` in the value's own state; they sort around it,
    // and the last two disagree between UTF-16 and byte order (see the snapshot test above).
    let last = 0;
    for (const name of ["z", "a", "\u{1f600}", "\uff5e"]) last = await put(prefix + name, name);
    const expected = ["a", "m", "z", "\uff5e", "\u{1f600}"].map((name) => prefix + name);
    const snapshot = await first.get({ filter: (sn) => sn.revision >= last });
    t.deepEqual([...snapshot.entries.keys()], expected, "snapshot entries in byte order");
    const late = watcher(t, value);
    const seen: string[] = [];
    for (const _ of expected) seen.push((await late.get()).key);
    t.deepEqual(seen, expected, "a joining watcher's snapshot in byte order");
  });

  // ── watch(): deletions ───────────────────────────────────────────────────────────────

  test("watch: a key deleted before the snapshot never appears", async (t) => {
    const prefix = "/deleted-before/";
    await put(`${prefix}gone`, "x");
    await put(`${prefix}kept`, "y");
    await del(`${prefix}gone`);
    const w = watcher(t, new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text }));
    t.is((await w.get()).key, `${prefix}kept`, "the snapshot holds the present key only");
    await t.throwsAsync(w.get({ backlogOnly: true }), { instanceOf: BacklogDoneError });
    await put(`${prefix}marker`, "z");
    t.is(
      (await w.get()).key,
      `${prefix}marker`,
      "the next update is the next write, not the delete",
    );
  });

  test("watch: a key deleted after the snapshot is returned once, as undefined at the delete's revision", async (t) => {
    const prefix = "/deleted-after/";
    await put(`${prefix}a`, "x");
    const w = watcher(t, new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text }));
    t.is((await w.get()).value, "x");
    const deleted = await del(`${prefix}a`);
    t.deepEqual(plain(await w.get()), { key: `${prefix}a`, value: undefined, revision: deleted });
    t.is(w.revision, deleted, "watcher.revision is the delete's revision");
    t.true(await isPending(w.get()), "the deletion is returned once");
  });

  test("watch: a key created and deleted between two gets, never returned, is not returned at all", async (t) => {
    const prefix = "/created-deleted/";
    await put(`${prefix}a`, "x");
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    const w = watcher(t, value);
    const probe = watcher(t, value);
    await w.get();
    await put(`${prefix}b`, "short-lived");
    await del(`${prefix}b`);
    const marker = await put(`${prefix}c`, "marker");
    await probe.get({ filter: (u) => u.key === `${prefix}c` });
    t.deepEqual(plain(await w.get()), { key: `${prefix}c`, value: "marker", revision: marker });
    t.true(await isPending(w.get()), "nothing else: b was never returned, nor is its deletion");
  });

  test("watch: a key returned, then deleted between two gets, is returned once, as a deletion", async (t) => {
    const prefix = "/returned-deleted/";
    await put(`${prefix}a`, "x");
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    const w = watcher(t, value);
    const probe = watcher(t, value);
    await w.get();
    await put(`${prefix}b`, "short-lived");
    t.like(await w.get(), { key: `${prefix}b`, value: "short-lived" });
    const deleted = await del(`${prefix}b`);
    const marker = await put(`${prefix}c`, "marker");
    await probe.get({ filter: (u) => u.key === `${prefix}c` });
    t.deepEqual(plain(await w.get()), { key: `${prefix}b`, value: undefined, revision: deleted });
    t.deepEqual(plain(await w.get()), { key: `${prefix}c`, value: "marker", revision: marker });
    t.true(await isPending(w.get()), "nothing else");
  });

  // ── watch(): backlogOnly ─────────────────────────────────────────────────────────────

  test("backlogOnly: reads the initial snapshot key by key, then rejects with BacklogDoneError", async (t) => {
    const prefix = "/backlog/";
    const keys = ["e", "c", "a", "d", "b"].map((name) => prefix + name);
    for (const key of keys) await put(key, key);
    const w = watcher(t, new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text }));
    const seen: string[] = [];
    for (;;) {
      try {
        seen.push((await w.get({ backlogOnly: true })).key);
      } catch (error) {
        t.true(error instanceof BacklogDoneError, `ends with BacklogDoneError, got ${error}`);
        break;
      }
    }
    t.deepEqual(seen, [...keys].sort(byteOrder), "every present key once, in key order");
    await t.throwsAsync(w.get({ backlogOnly: true }), { instanceOf: BacklogDoneError });
    const next = w.get();
    t.true(await isPending(next), "the watcher stays usable: a plain get waits");
    await put(`${prefix}f`, "new");
    t.is((await next).key, `${prefix}f`, "and returns the next change");
  });

  test("backlogOnly: combines with filter over the snapshot", async (t) => {
    const prefix = "/backlog-filter/";
    for (const name of ["a", "b", "c", "d"]) await put(prefix + name, name);
    const w = watcher(t, new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text }));
    const odd = (u: KeyUpdate<string>): boolean => u.value === "a" || u.value === "c";
    t.is((await w.get({ backlogOnly: true, filter: odd })).value, "a");
    t.is((await w.get({ backlogOnly: true, filter: odd })).value, "c");
    await t.throwsAsync(w.get({ backlogOnly: true, filter: odd }), {
      instanceOf: BacklogDoneError,
    });
  });

  test("backlogOnly: an empty range rejects at once with BacklogDoneError; a plain get waits for the first key", async (t) => {
    const prefix = "/backlog-empty/";
    const w = watcher(t, new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text }));
    await t.throwsAsync(w.get({ backlogOnly: true }), { instanceOf: BacklogDoneError });
    const next = w.get();
    t.true(await isPending(next), "nothing present: get waits");
    const written = await put(`${prefix}first`, "1");
    t.deepEqual(plain(await next), { key: `${prefix}first`, value: "1", revision: written });
  });

  // ── snapshots() ──────────────────────────────────────────────────────────────────────

  test("snapshots: the first get is the complete initial state, at the read's revision", async (t) => {
    const prefix = `/${backend().name}/snapshots-initial/`; // seen by a diagnostics listener
    for (const name of ["c", "a", "b", "\u{1f600}", "\uff5e"])
      await put(prefix + name, `v-${name}`);
    await del(`${prefix}b`);
    using reads = new ReadLog(`prefix ${JSON.stringify(prefix)}`);
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    const s = watcher(t, value.snapshots());
    const snapshot = await s.get();
    t.is(snapshot.revision, reads.last ?? -1, "the snapshot's revision is the read's");
    t.is(s.revision, snapshot.revision, "watcher.revision is the snapshot's revision");
    t.deepEqual(snapshot.entries, await etcdState(prefix), "entries are what etcd holds");
    t.deepEqual(
      [...snapshot.entries.keys()],
      [...(await etcdState(prefix, snapshot.revision)).keys()],
      "entries are in etcd's key order",
    );
    t.false(snapshot.entries.has(`${prefix}b`), "a deleted key is not in the snapshot");
    t.true(await isPending(s.get()), "nothing newer: get waits");
  });

  test("snapshots: an empty range's first get is an empty snapshot", async (t) => {
    const prefix = "/snapshots-empty/";
    const s = watcher(t, new EtcdRangeValue(etcd(), { prefix }).snapshots());
    const snapshot = await s.get();
    t.is(snapshot.entries.size, 0, "no keys: an empty map, at once");
    t.true(snapshot.revision > 0, "at the read's revision");
  });

  test("snapshots: after several writes a get returns the newest state, equal to etcd's at its revision", async (t) => {
    const prefix = "/snapshots-newest/";
    for (const name of ["a", "b", "c"]) await put(prefix + name, "0");
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    const s = watcher(t, value.snapshots());
    const first = await s.get();
    t.is(first.entries.size, 3);

    await put(`${prefix}a`, "1");
    await del(`${prefix}b`);
    await put(`${prefix}d`, "1");
    await put(`${prefix}a`, "2");
    const last = await del(`${prefix}c`);

    const snapshot = await s.get({ filter: (sn) => sn.revision >= last });
    t.is(snapshot.revision, last, "the snapshot is at the range's last change");
    t.is(s.revision, snapshot.revision, "watcher.revision is the snapshot's revision");
    t.deepEqual(
      snapshot.entries,
      new Map([
        [`${prefix}a`, "2"],
        [`${prefix}d`, "1"],
      ]),
      "the newest state: deleted keys gone, each key's newest value",
    );
    t.deepEqual(snapshot.entries, await etcdState(prefix), "equal to getAll() now");
    t.deepEqual(
      snapshot.entries,
      await etcdState(prefix, snapshot.revision),
      "equal to getAll() at its revision",
    );
    t.true(await isPending(s.get()), "nothing newer: get waits");
  });

  test("snapshots: every snapshot is consistent: keys written in one transaction are seen together", async (t) => {
    const prefix = "/snapshots-consistent/";
    const [x, y] = [`${prefix}x`, `${prefix}y`];
    const writeBoth = (n: number): Promise<unknown> =>
      etcd()
        .if(x, "Version", ">", -1) // always true: a plain transaction
        .then(etcd().put(x).value(String(n)), etcd().put(y).value(String(n)))
        .commit();
    await writeBoth(0);
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    const s = watcher(t, value.snapshots());
    const rounds = 30;
    const writer = (async () => {
      for (let n = 1; n <= rounds; n++) await writeBoth(n);
    })();
    const seen: RangeSnapshot<string>[] = [];
    let last = -1;
    while (last < rounds) {
      const snapshot = await s.get();
      seen.push(snapshot);
      last = Number(snapshot.entries.get(x));
    }
    await writer;
    t.true(seen.length >= 2, "the initial state and at least the final one");
    for (const snapshot of seen) {
      t.is(
        snapshot.entries.get(x),
        snapshot.entries.get(y),
        `x and y agree at ${snapshot.revision}`,
      );
      t.deepEqual(
        snapshot.entries,
        await etcdState(prefix, snapshot.revision),
        `equal to etcd's state at ${snapshot.revision}`,
      );
    }
    const revisions = seen.map((snapshot) => snapshot.revision);
    t.true(
      revisions.every((r, i) => i === 0 || r > (revisions[i - 1] ?? 0)),
      `each get returns a newer snapshot: ${revisions.join(", ")}`,
    );
  });

  // ── The read→watch gap ───────────────────────────────────────────────────────────────

  /** A range value whose first read is followed, before its watch, by `inGap`. */
  function withGap(prefix: string, inGap: () => Promise<void>): EtcdRangeValue<string> {
    let reads = 0;
    return new EtcdRangeValue(
      etcd(),
      { prefix },
      withInternal(
        {
          decoder: decoders.text,
        },
        {
          hooks: {
            afterRead: async () => {
              // The window between the read at R and the watch from R+1, held open.
              if (reads++ === 0) await inGap();
            },
          },
        },
      ),
    );
  }

  test("watch: writes between the initial read and the watch are not lost for a range", async (t) => {
    const prefix = "/gap-watch/";
    await put(`${prefix}a`, "before");
    await put(`${prefix}old`, "before");
    const gap: number[] = [];
    const value = withGap(prefix, async () => {
      gap.push(await put(`${prefix}a`, "in the gap"));
      gap.push(await put(`${prefix}new`, "in the gap"));
      gap.push(await del(`${prefix}old`));
    });
    const w = watcher(t, value);
    const snapshot = [await w.get(), await w.get()];
    t.deepEqual(
      snapshot.map((u) => [u.key, u.value]),
      [
        [`${prefix}a`, "before"],
        [`${prefix}old`, "before"],
      ],
      "the read's state comes first",
    );
    const updates = [await w.get(), await w.get(), await w.get()];
    t.deepEqual(
      updates.map(plain),
      [
        { key: `${prefix}a`, value: "in the gap", revision: gap[0] },
        { key: `${prefix}new`, value: "in the gap", revision: gap[1] },
        { key: `${prefix}old`, value: undefined, revision: gap[2] },
      ],
      "every write in the gap arrives through the watch, in order",
    );
    t.true(await isPending(w.get()), "and nothing else");
  });

  test("snapshots: writes between the initial read and the watch are not lost for a range", async (t) => {
    const prefix = "/gap-snapshots/";
    await put(`${prefix}a`, "before");
    let last = 0;
    const value = withGap(prefix, async () => {
      await put(`${prefix}a`, "in the gap");
      last = await put(`${prefix}b`, "in the gap");
    });
    const s = watcher(t, value.snapshots());
    t.deepEqual((await s.get()).entries, new Map([[`${prefix}a`, "before"]]), "the read's state");
    const snapshot = await s.get({ filter: (sn) => sn.revision >= last });
    t.deepEqual(
      snapshot.entries,
      new Map([
        [`${prefix}a`, "in the gap"],
        [`${prefix}b`, "in the gap"],
      ]),
      "the gap's writes reach the snapshot",
    );
    t.is(snapshot.revision, last);
  });

  // ── A read of several pages: its watch is created after the first page ─────────────────

  /** Keys of a range that takes two pages to read (the first page holds 64). */
  const PAGED_KEYS = 100;
  const pagedKey = (prefix: string, i: number): string => `${prefix}${String(i).padStart(3, "0")}`;

  /** A range value on `prefix` whose first read calls `duringRead` after its first page. */
  async function pagedRange(
    prefix: string,
    duringRead: () => Promise<void>,
  ): Promise<EtcdRangeValue<string>> {
    for (let i = 0; i < PAGED_KEYS; i++) await put(pagedKey(prefix, i), "before");
    let pages = 0;
    return new EtcdRangeValue(
      etcd(),
      { prefix },
      withInternal(
        { decoder: decoders.text },
        {
          hooks: {
            afterFirstPage: async () => {
              if (pages++ === 0) await duringRead();
            },
          },
        },
      ),
    );
  }

  test("watch: writes made while a read of several pages is under way arrive once, after the read's state", async (t) => {
    const prefix = "/paged-read-writes/";
    const writes: { key: string; value: string | undefined; revision: number }[] = [];
    const value = await pagedRange(prefix, async () => {
      // The watch from R+1 is being created; the later pages are still read at R.
      const last = pagedKey(prefix, PAGED_KEYS - 1); // on the second page
      const first = pagedKey(prefix, 0); // on the first page, read already
      const middle = pagedKey(prefix, 70);
      writes.push({ key: last, value: "during", revision: await put(last, "during") });
      writes.push({ key: first, value: "during", revision: await put(first, "during") });
      writes.push({ key: middle, value: undefined, revision: await del(middle) });
      const born = `${prefix}born`;
      writes.push({ key: born, value: "during", revision: await put(born, "during") });
    });
    const w = watcher(t, value);
    const read: [string, string | undefined][] = [];
    const first = await w.get();
    t.is(writes.length, 4, "the read took several pages: the writes were made during it");
    read.push([first.key, first.value]);
    for (let i = 1; i < PAGED_KEYS; i++) {
      const update = await w.get();
      read.push([update.key, update.value]);
    }
    t.deepEqual(
      read,
      Array.from({ length: PAGED_KEYS }, (_, i) => [pagedKey(prefix, i), "before"]),
      "the read's state, every page at the first page's revision",
    );
    const updates = [];
    for (let i = 0; i < writes.length; i++) updates.push(plain(await w.get()));
    t.deepEqual(
      updates,
      writes,
      "each write made during the read arrives through the watch, in order",
    );
    t.true(await isPending(w.get()), "and nothing else");
    const s = watcher(t, value.snapshots());
    t.deepEqual((await s.get()).entries, await etcdState(prefix), "snapshots hold etcd's state");
  });

  // Serial: its compaction must not land in another test's read.
  test.serial(
    "watch: a compaction while a read of several pages is under way: the read starts again, and the watch after it follows the changes",
    async (t) => {
      const prefix = `/${backend().name}/paged-read-compacted/`; // seen by a diagnostics listener
      let changed = 0;
      const last = pagedKey(prefix, PAGED_KEYS - 1);
      using reads = new ReadLog(`prefix ${JSON.stringify(prefix)}`);
      const value = await pagedRange(prefix, async () => {
        changed = await put(last, "during");
        await put("/paged-read-compacted-elsewhere", "moves the store's revision");
        // The later pages at R and the watch from R+1 are now below the compacted revision.
        await backend().compact();
      });
      const status = watcher(t, value.status());
      const s = watcher(t, value.snapshots());
      const snapshot = await s.get();
      t.is(snapshot.entries.get(last), "during", "the first whole read is after the change");
      t.true(snapshot.revision >= changed);
      t.deepEqual(snapshot.entries, await etcdState(prefix), "and holds etcd's state");
      t.is(reads.revisions.length, 1, "one whole read was applied: the broken one was not");
      await status.get({ filter: (st) => st.state === "live" });
      const after = await put(pagedKey(prefix, 0), "after");
      const next = await s.get({ filter: (sn) => sn.revision >= after });
      t.is(next.entries.get(pagedKey(prefix, 0)), "after", "the watch after the read is live");
      t.is(reads.revisions.length, 1, "and needed no other read");
    },
  );

  // Serial: ava runs serial tests before the concurrent ones, so this compaction cannot land
  // in another test's read→watch window.
  test.serial(
    "resync: after a compaction, vanished keys are returned as deletions and unchanged keys are not returned again",
    async (t) => {
      const prefix = `/${backend().name}/resync-compacted/`; // seen by a diagnostics listener
      for (const name of ["changed", "gone", "same"]) await put(prefix + name, "before");
      const gap = { changed: 0, born: 0 };
      using reads = new ReadLog(`prefix ${JSON.stringify(prefix)}`);
      const value = withGap(prefix, async () => {
        gap.changed = await put(`${prefix}changed`, "in the gap");
        gap.born = await put(`${prefix}born`, "in the gap");
        await del(`${prefix}gone`);
        // The watch from R+1 now starts below the compacted revision: etcd refuses it.
        await backend().compact();
      });
      const w = watcher(t, value);
      const s = watcher(t, value.snapshots());
      const snapshot = [await w.get(), await w.get(), await w.get()].map((u) => [u.key, u.value]);
      t.deepEqual(snapshot, [
        [`${prefix}changed`, "before"],
        [`${prefix}gone`, "before"],
        [`${prefix}same`, "before"],
      ]);
      const updates = [await w.get(), await w.get(), await w.get()];
      t.is(reads.revisions.length, 2, "the compaction made the value read the range again");
      const reread = reads.revisions[1] ?? -1;
      t.deepEqual(
        updates.map(plain),
        [
          { key: `${prefix}changed`, value: "in the gap", revision: gap.changed },
          { key: `${prefix}born`, value: "in the gap", revision: gap.born },
          { key: `${prefix}gone`, value: undefined, revision: reread },
        ],
        "the difference: changed keys at their mod revision, vanished keys deleted at the read's",
      );
      t.true(await isPending(w.get()), "the unchanged key is not returned again");
      const latest = await s.get({ filter: (sn) => sn.revision >= reread });
      t.deepEqual(
        latest.entries,
        await etcdState(prefix),
        "snapshots hold the state after the gap",
      );
    },
  );

  test.serial(
    "resync: after a re-read that changed nothing, snapshots carry the re-read's revision, as does watcher.revision",
    async (t) => {
      const prefix = `/${backend().name}/resync-unchanged/`; // seen by a diagnostics listener
      await put(`${prefix}a`, "1");
      using reads = new ReadLog(`prefix ${JSON.stringify(prefix)}`);
      const value = withGap(prefix, async () => {
        // Two writes outside the range, then compaction up to the second: the watch from
        // R+1 starts below the compacted revision and is refused.
        await put("/resync-unchanged-elsewhere", "moves the store's revision only");
        await put("/resync-unchanged-elsewhere", "again");
        await backend().compact();
      });
      const status = watcher(t, value.status());
      const w = watcher(t, value);
      t.is((await w.get()).key, `${prefix}a`);
      const first = w.revision;
      // The refused watch is first created, then cancelled: wait for the watch after the
      // re-read, the one whose resume revision is past the first read.
      await status.get({
        filter: (st) => st.state === "live" && (st.revision ?? 0) > (first ?? 0) + 1,
      });
      t.is(reads.revisions.length, 2, "the compaction made the value read the range again");
      const reread = reads.last ?? -1;
      t.true(reread > (first ?? 0), "the re-read is at a later revision");

      const s = watcher(t, value.snapshots());
      const snapshot = await s.get();
      t.is(s.revision, snapshot.revision, "watcher.revision is the snapshot's revision");
      t.is(snapshot.revision, reread, "the snapshot is at the re-read's revision");
      const late = watcher(t, value);
      await late.get();
      t.is(late.revision, reread, "a per-key snapshot taken now is at the re-read's revision");
      t.true(await isPending(w.get()), "nothing changed: nothing is returned again");
    },
  );

  // ── Ranges and namespaces ────────────────────────────────────────────────────────────

  test("range: { start, end } covers exactly [start, end)", async (t) => {
    const p = "/span/";
    for (const name of ["a", "b", "b0", "c", "c/x", "d", "d0"]) await put(p + name, name);
    const value = new EtcdRangeValue(
      etcd(),
      { start: `${p}b`, end: `${p}d` },
      { decoder: decoders.text },
    );
    const w = watcher(t, value);
    const initial: string[] = [];
    for (;;) {
      try {
        initial.push((await w.get({ backlogOnly: true })).key);
      } catch (error) {
        t.true(error instanceof BacklogDoneError);
        break;
      }
    }
    t.deepEqual(initial, [`${p}b`, `${p}b0`, `${p}c`, `${p}c/x`], "start included, end excluded");
    await put(`${p}a`, "outside, below");
    await put(`${p}d`, "the end itself, outside");
    const inside = await put(`${p}bz`, "inside");
    await put(`${p}d0`, "outside, above");
    const lastInside = await put(`${p}b`, "start, inside");
    t.deepEqual(plain(await w.get()), { key: `${p}bz`, value: "inside", revision: inside });
    t.deepEqual(plain(await w.get()), {
      key: `${p}b`,
      value: "start, inside",
      revision: lastInside,
    });
    t.true(await isPending(w.get()), "writes outside [start, end) are never returned");
  });

  test("range: start >= end throws a TypeError naming both", (t) => {
    t.throws(() => new EtcdRangeValue(etcd(), { start: "/k/b", end: "/k/b" }), {
      instanceOf: TypeError,
      message: /range\.start.*"\/k\/b" >= "\/k\/b"/,
    });
    t.throws(() => new EtcdRangeValue(etcd(), { start: "/k/c", end: "/k/b" }), {
      instanceOf: TypeError,
      message: /"\/k\/c" >= "\/k\/b"/,
    });
    // Byte order, not UTF-16 order: U+FF5E sorts below U+1F600 in UTF-8.
    t.throws(() => new EtcdRangeValue(etcd(), { start: "\u{1f600}", end: "\uff5e" }), {
      instanceOf: TypeError,
    });
    t.notThrows(() => new EtcdRangeValue(etcd(), { start: "\uff5e", end: "\u{1f600}" }));
  });

  test('range: prefix "" on a Namespace covers the namespace and returns keys relative to it', async (t) => {
    const root = "/ns-all/";
    const ns = etcd().namespace(root);
    await put("a", "1", ns);
    await put("b/c", "2", ns);
    await put("/ns-all", "outside: the namespace without its slash");
    await put("/ns-all0/a", "outside: a sibling");
    await put("/ns-alk/z", "outside: below");
    const value = new EtcdRangeValue(ns, { prefix: "" }, { decoder: decoders.text });
    const w = watcher(t, value);
    const s = watcher(t, value.snapshots());
    t.deepEqual(
      [await w.get(), await w.get()].map((u) => [u.key, u.value]),
      [
        ["a", "1"],
        ["b/c", "2"],
      ],
      "the namespace's keys, without the namespace prefix",
    );
    await t.throwsAsync(w.get({ backlogOnly: true }), { instanceOf: BacklogDoneError });
    t.deepEqual(
      (await s.get()).entries,
      new Map([
        ["a", "1"],
        ["b/c", "2"],
      ]),
      "snapshot keys are relative too",
    );
    await put("/ns-all0/b", "outside");
    const inside = await put("z", "3", ns);
    t.deepEqual(plain(await w.get()), { key: "z", value: "3", revision: inside }, "updates too");
    t.is((await s.get()).entries.get("z"), "3");
    t.true(await isPending(w.get()), "writes outside the namespace are never returned");
  });

  test('range: { start, end: "\\0" } on a Namespace runs from start to the end of the namespace', async (t) => {
    const ns = etcd().namespace("/ns-span/");
    for (const name of ["a", "b", "c", "\u{1f600}"]) await put(name, name, ns);
    await put("/ns-span0", "outside: just above the namespace");
    await put("/ns-spao", "outside");
    const value = new EtcdRangeValue(ns, { start: "b", end: "\0" }, { decoder: decoders.text });
    const s = watcher(t, value.snapshots());
    t.deepEqual(
      [...(await s.get()).entries.keys()],
      ["b", "c", "\u{1f600}"],
      "from start to the namespace's end, relative keys",
    );
  });

  // ── Decode errors ────────────────────────────────────────────────────────────────────

  test("decode: a bad value in a range is a DecodeError for that update only", async (t) => {
    const prefix = "/decode-update/";
    await put(`${prefix}a`, '{"n":1}');
    await put(`${prefix}b`, '{"n":2}');
    const value = new EtcdRangeValue(
      etcd(),
      { prefix },
      { decoder: decoders.json<{ n: number }>() },
    );
    const w = watcher(t, value);
    t.deepEqual((await w.get()).value, { n: 1 });
    t.deepEqual((await w.get()).value, { n: 2 });
    const before = w.revision;
    const bad = await put(`${prefix}a`, "{not json");
    const error = await t.throwsAsync(w.get(), { instanceOf: DecodeError });
    t.is(error.key, `${prefix}a`, "the error names the key");
    t.is(error.revision, bad, "and the bad update's revision");
    t.true(error.cause instanceof SyntaxError, "cause: what the decoder threw");
    t.is(w.revision, before, "a rejected update does not move watcher.revision");
    const good = await put(`${prefix}b`, '{"n":3}');
    t.deepEqual(
      plain(await w.get()),
      { key: `${prefix}b`, value: { n: 3 }, revision: good },
      "the next update is returned normally",
    );
    t.true(await isPending(w.get()), "the bad update was consumed");
  });

  test("decode: a bad value in the initial snapshot fails that key's get only", async (t) => {
    const prefix = "/decode-snapshot/";
    await put(`${prefix}a`, '{"n":1}');
    const bad = await put(`${prefix}b`, "{not json");
    await put(`${prefix}c`, '{"n":3}');
    const w = watcher(t, new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.json() }));
    t.is((await w.get()).key, `${prefix}a`);
    const error = await t.throwsAsync(w.get(), { instanceOf: DecodeError });
    t.is(error.key, `${prefix}b`);
    t.is(error.revision, bad, "the bad key's mod revision");
    t.is((await w.get()).key, `${prefix}c`, "the snapshot goes on with the next key");
  });

  test("snapshots: a get rejects with DecodeError while a key is bad, and recovers after it is fixed", async (t) => {
    const prefix = "/decode-snapshots/";
    await put(`${prefix}a`, '{"n":1}');
    await put(`${prefix}b`, '{"n":2}');
    const value = new EtcdRangeValue(
      etcd(),
      { prefix },
      { decoder: decoders.json<{ n: number }>() },
    );
    const s = watcher(t, value.snapshots());
    t.is((await s.get()).entries.size, 2);

    const bad = await put(`${prefix}b`, "{not json");
    const error = await t.throwsAsync(s.get(), { instanceOf: DecodeError });
    t.is(error.key, `${prefix}b`, "the error names the bad key");
    t.is(error.revision, bad, "and its revision");
    const next = s.get();
    t.true(await isPending(next), "the failed snapshot was consumed: get waits for a newer one");

    const late = watcher(t, value.snapshots());
    await t.throwsAsync(late.get(), { instanceOf: DecodeError }, "a new watcher's first get too");

    const fixed = await put(`${prefix}b`, '{"n":3}');
    for (const snapshot of [await next, await late.get()]) {
      t.is(snapshot.revision, fixed, "the fixed state's revision");
      t.deepEqual(
        snapshot.entries,
        new Map([
          [`${prefix}a`, { n: 1 }],
          [`${prefix}b`, { n: 3 }],
        ]),
        "recovered: the whole range, decoded",
      );
    }
  });

  // ── Sharing one etcd watch ───────────────────────────────────────────────────────────

  test("sharing: per-key and snapshot watchers of one EtcdRangeValue share one etcd watch, released after the last closes", async (t) => {
    using counter = new WatchCounter();
    const prefix = `/${backend().name}/shared-range/`; // seen by a diagnostics listener
    const target = `prefix ${JSON.stringify(prefix)}`;
    await put(`${prefix}a`, "1");
    const value = new EtcdRangeValue(etcd(), { prefix }, { decoder: decoders.text });
    const perKey = Array.from({ length: 50 }, () => watcher(t, value));
    const snapshots = Array.from({ length: 50 }, () => watcher(t, value.snapshots()));
    await Promise.all([...perKey, ...snapshots].map((w) => w.get()));
    const status = watcher(t, value.status());
    await status.get({ filter: (s) => s.state === "live" });
    t.is(counter.open(target), 1, "one etcd watch for 100 watchers of both kinds");

    for (const w of perKey) w.close();
    t.is(counter.open(target), 1, "held while a snapshot watcher is open");
    const written = await put(`${prefix}a`, "2");
    const last = snapshots.at(-1) as Watcher<RangeSnapshot<string>>;
    t.is((await last.get()).revision, written, "the remaining watchers still get changes");

    for (const w of snapshots.slice(0, -1)) w.close();
    t.is(counter.open(target), 1, "held while one watcher is open");
    const ended = nextWatchEnd(target);
    last.close();
    await ended;
    t.is(counter.open(target), 0, "released when the last watcher closes");

    const again = watcher(t, value);
    t.deepEqual(
      plain(await again.get()),
      { key: `${prefix}a`, value: "2", revision: written },
      "a new watcher after the release reads the range again",
    );
    await status.get({ filter: (s) => s.state === "live" });
    t.is(counter.open(target), 1, "with one new etcd watch");
    const endedAgain = nextWatchEnd(target);
    again.close();
    await endedAgain;
    t.is(counter.open(target), 0);
  });
}
