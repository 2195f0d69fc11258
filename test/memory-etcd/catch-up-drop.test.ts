/**
 * W12 (research note §9.3), on both backends: a watch stream dropped in the middle of a
 * catch-up. etcd stamps each catch-up batch (≤ 1000 revisions) with the store's current
 * revision, so a client resuming from the last header would skip what it never got
 * (etcd3's own watcher does: trap 1); the library resumes after the last event it
 * applied, and loses nothing. The drop is the backend's `disconnect()`: on etcd every
 * connection through the harness's TCP proxy is reset, on MemoryEtcd the twin's own.
 * `MEMORY_ETCD_LARGE=1` replays 25,000 revisions instead of 2,500.
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import test, { type ExecutionContext } from "ava";
import type { Etcd3, IWatchResponse } from "etcd3";
import type { RangeSyncHooks } from "../../src/etcd/range-sync.js";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  decoders,
  ETCD_WATCH_CHANNEL,
  EtcdRangeValue,
  EtcdValue,
  type EtcdWatchMessage,
  type KeyUpdate,
} from "../../src/index.js";
import { type Backend, withBackends } from "../harness/backends.js";
import { deadline, watchLogged } from "../helpers/faults.js";

const LARGE = process.env.MEMORY_ETCD_LARGE === "1";
/** Revisions written between the watcher's read and its watch: 3 catch-up batches. */
const REVISIONS = LARGE ? 25_000 : 2_500;
const KEYS = 50;

/**
 * Breaks the watch once, at the first catch-up response it gets (the library applied it:
 * its listener runs first), and records where: what the test asserts on afterwards.
 */
class CatchUpDrop {
  /** Events received on the first watch before the drop. */
  received = 0;
  /** Revision of the last event received before the drop. */
  lastReceived = 0;
  /** The `startRevision` of every watch the value created, in order. */
  readonly starts: number[] = [];
  readonly #target: string;
  readonly #listener = (message: unknown): void => {
    const event = message as EtcdWatchMessage;
    if (event.type === "watch-created" && event.target === this.#target) {
      this.starts.push(event.startRevision);
    }
  };

  constructor(t: ExecutionContext, target: string) {
    this.#target = target;
    subscribe(ETCD_WATCH_CHANNEL, this.#listener);
    t.teardown(() => unsubscribe(ETCD_WATCH_CHANNEL, this.#listener));
  }

  /** The hooks: `inGap` runs between the read and the watch; the first watch is dropped. */
  hooks(backend: Backend, inGap: () => Promise<void>): RangeSyncHooks {
    let gapDone = false;
    let watches = 0;
    return {
      afterRead: async () => {
        if (gapDone) return;
        gapDone = true;
        await inGap();
      },
      watchCreated: (call) => {
        if (++watches > 1) return; // only the first watch is dropped
        let dropped = false;
        call.on("data", (response: IWatchResponse) => {
          if (dropped || response.events.length === 0) return;
          dropped = true;
          this.received = response.events.length;
          this.lastReceived = Number(response.events.at(-1)?.kv.mod_revision);
          void backend.disconnect();
        });
      },
    };
  }
}

/** Writes `count` revisions over `keys`, 64 at a time; resolves with each key's last put. */
async function writeHistory(
  client: Etcd3,
  keys: readonly string[],
  count: number,
): Promise<Map<string, { value: string; revision: number }>> {
  const last = new Map<string, { value: string; revision: number }>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const key = keys[i % keys.length] as string;
      const value = `v${i}`;
      const revision = Number((await client.put(key).value(value)).header.revision);
      if (revision > (last.get(key)?.revision ?? 0)) last.set(key, { value, revision });
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return last;
}

withBackends(
  test,
  (test, backend) => {
    test.serial(
      "W12 range: a stream dropped in the middle of a catch-up resumes after the last event received; every key ends at the store's value and revision",
      async (t) => {
        const client = backend().client();
        const prefix = "/w12/range/";
        const keys = Array.from(
          { length: KEYS },
          (_, i) => `${prefix}${String(i).padStart(2, "0")}`,
        );
        for (const key of keys) await client.put(key).value("initial");
        const drop = new CatchUpDrop(t, `prefix ${JSON.stringify(prefix)}`);
        let written = new Map<string, { value: string; revision: number }>();
        let finalRevision = 0;
        const value = new EtcdRangeValue(
          client,
          { prefix },
          withInternal(
            { decoder: decoders.text },
            {
              hooks: drop.hooks(backend(), async () => {
                written = await writeHistory(client, keys, REVISIONS);
                finalRevision = Math.max(...[...written.values()].map((w) => w.revision));
              }),
            },
          ),
        );
        const { w, log } = watchLogged(t, value);

        const latest = new Map<string, KeyUpdate<string>>();
        const signal = deadline(60_000, "every key's final value");
        while ((w.revision ?? 0) < finalRevision || finalRevision === 0) {
          const update = await w.get({ signal });
          latest.set(update.key, update);
        }

        t.true(
          drop.received > 0 && drop.lastReceived < finalRevision,
          `dropped mid catch-up: after ${drop.received} events, at revision ${drop.lastReceived} of ${finalRevision}`,
        );
        t.true(drop.received <= 1000, "the drop came after one catch-up batch (≤ 1000 revisions)");
        t.is(drop.starts.length, 2, "the watch was created twice");
        t.is(drop.starts[1], drop.lastReceived + 1, "resumed right after the last event received");
        t.deepEqual(
          Object.fromEntries([...latest].map(([key, u]) => [key, [u.value, u.revision]])),
          Object.fromEntries([...written].map(([key, w]) => [key, [w.value, w.revision]])),
          "every key at its last write's value and revision",
        );
        const stored = await client.getAll().prefix(prefix).strings();
        t.deepEqual(
          stored,
          Object.fromEntries([...written].map(([key, w]) => [key, w.value])),
          "the store agrees",
        );
        t.true(log.trail.includes("stale"), `stale while reconnecting: ${log.trail}`);
        t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
      },
    );

    test.serial(
      "W12 key: a stream dropped in the middle of a catch-up resumes after the last event received; the value ends at the newest write",
      async (t) => {
        const client = backend().client();
        const key = "/w12/key";
        await client.put(key).value("initial");
        const drop = new CatchUpDrop(t, `key ${JSON.stringify(key)}`);
        let newest = { value: "", revision: 0 };
        const value = new EtcdValue(
          client,
          key,
          withInternal(
            { decoder: decoders.text },
            {
              hooks: drop.hooks(backend(), async () => {
                const written = await writeHistory(client, [key], REVISIONS);
                newest = written.get(key) ?? newest;
              }),
            },
          ),
        );
        const w = value.watch();
        t.teardown(() => w.close());
        t.is(await w.get(), "initial", "the read before the gap");
        const signal = deadline(60_000, "the newest value");
        let final: string | undefined;
        while (newest.revision === 0 || w.revision !== newest.revision) {
          final = await w.get({ signal });
        }

        t.true(
          drop.received > 0 && drop.lastReceived < newest.revision,
          `dropped mid catch-up: after ${drop.received} events, at revision ${drop.lastReceived} of ${newest.revision}`,
        );
        t.true(drop.received <= 1000, "the drop came after one catch-up batch (≤ 1000 revisions)");
        t.is(drop.starts.length, 2, "the watch was created twice");
        t.is(drop.starts[1], drop.lastReceived + 1, "resumed right after the last event received");
        t.is(final, newest.value, "the newest write's value");
        t.is(w.revision, newest.revision, "at the newest write's revision");
      },
    );
  },
  { faults: true },
);
