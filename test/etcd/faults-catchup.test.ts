/**
 * A disconnect in the middle of a long catch-up loses nothing (RELIABILITY.md, trap 1):
 * etcd stamps every catch-up batch with the current store revision, so a client that
 * resumes from the last header resumes past events it never received. The library
 * resumes from the last event it applied.
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import test from "ava";
import type { IWatchResponse } from "etcd3";
import { withInternal } from "../../src/etcd/value-options.js";
import {
  decoders,
  ETCD_WATCH_CHANNEL,
  EtcdRangeValue,
  type EtcdWatchMessage,
  type KeyUpdate,
} from "../../src/index.js";
import { withCluster } from "../harness/ava.js";
import { deadline, putMany, recommendedClient, watchLogged } from "../helpers/faults.js";
import { checkLeaks } from "../helpers/leaks.js";

const cluster = withCluster(test, { members: 1, memberControl: true });
checkLeaks(test, cluster);

const KEYS = 1000;
const ROUNDS = 30; // 30,000 events to replay

test.serial(
  "a watch broken in the middle of a 30,000-event catch-up resumes where it stopped: every key ends at etcd's value and revision",
  async (t) => {
    const writer = cluster().client();
    const client = recommendedClient(cluster().endpoints);
    t.teardown(() => client.close());
    const keys = Array.from({ length: KEYS }, (_, i) => `/catchup/${String(i).padStart(4, "0")}`);
    await putMany(writer, keys, () => "r0");

    let readRevision = 0;
    let finalRevision = 0;
    const created: EtcdWatchMessage[] = [];
    const onMessage = (message: unknown): void => {
      const event = message as EtcdWatchMessage;
      if (event.type === "watch-created" && event.target === 'prefix "/catchup/"')
        created.push(event);
    };
    subscribe(ETCD_WATCH_CHANNEL, onMessage);
    t.teardown(() => unsubscribe(ETCD_WATCH_CHANNEL, onMessage));
    let seen = 0;
    let lastSeen = 0;
    let brokenAt: number | undefined;
    // The catch-up is given 60 s from the end of the writes; the writes themselves (30,000
    // puts, slow on a busy machine) are bounded by ava's timeout.
    const catchUp = new AbortController();
    const value = new EtcdRangeValue(
      client,
      { prefix: "/catchup/" },
      withInternal(
        {
          decoder: decoders.text,
        },
        {
          hooks: {
            afterRead: async () => {
              if (finalRevision !== 0) return;
              // Between the read at R and the watch from R+1: the watch must replay all these.
              readRevision = await cluster().revision();
              for (let round = 1; round <= ROUNDS; round++) {
                finalRevision = await putMany(writer, keys, () => `r${round}`);
              }
              const bound = deadline(60_000, "every key's final value, after the writes");
              bound.addEventListener("abort", () => catchUp.abort(bound.reason), { once: true });
            },
            watchCreated: (call) => {
              if (created.length > 1) return; // only the first watch is broken
              call.on("data", (response: IWatchResponse) => {
                // The library applied this response (its listener runs first); after the
                // cancel it ignores what the call still emits.
                if (brokenAt !== undefined) return;
                seen += response.events.length;
                const last = response.events.at(-1);
                if (last !== undefined) lastSeen = Number(last.kv.mod_revision);
                if (brokenAt === undefined && seen >= (ROUNDS * KEYS) / 3) {
                  brokenAt = seen;
                  call.cancel(); // the stream breaks mid-replay
                }
              });
            },
          },
        },
      ),
    );
    const { w, log } = watchLogged(t, value);

    const latest = new Map<string, KeyUpdate<string>>();
    const signal = catchUp.signal;
    let done = 0;
    while (done < KEYS) {
      const update = await w.get({ signal });
      const before = latest.get(update.key);
      if (before?.value !== `r${ROUNDS}` && update.value === `r${ROUNDS}`) done += 1;
      latest.set(update.key, update);
    }
    t.log(
      `replayed ${ROUNDS * KEYS} events from ${readRevision + 1}; broken after ${brokenAt} of them, at revision ${lastSeen}`,
    );

    t.true(
      brokenAt !== undefined && brokenAt < ROUNDS * KEYS,
      "broken in the middle of the replay",
    );
    t.is(created.length, 2, "the watch was created twice");
    const resumed = created[1] as { startRevision: number };
    t.is(resumed.startRevision, lastSeen + 1, "resumed right after the last event received");
    t.true(resumed.startRevision < finalRevision, "not from the store's current revision (trap 1)");

    const stored = await writer.getAll().prefix("/catchup/").exec();
    t.is(stored.kvs.length, KEYS);
    const mismatches = stored.kvs.filter((kv) => {
      const update = latest.get(kv.key.toString());
      return update?.value !== kv.value.toString() || update.revision !== Number(kv.mod_revision);
    });
    t.deepEqual(
      mismatches.map((kv) => kv.key.toString()),
      [],
      "every key's final value and revision equal etcd's",
    );
    t.is(w.revision, finalRevision, "the watcher is at the last write's revision");
    t.true(log.trail.includes("stale"), `stale while reconnecting: ${log.trail}`);
    t.false(log.trail.includes("failed"), `never failed: ${log.trail}`);
  },
);
