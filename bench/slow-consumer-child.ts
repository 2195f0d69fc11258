/**
 * The consumer process of row 8 (see `etcd-slow-consumer.ts`), run by the parent with
 * `fork()`: one side per process, so its RSS is its own. Arguments: `ours` or `raw`, the
 * etcd endpoint, the key prefix. It talks to the parent over IPC:
 *
 * 1. `ready` once attached. The parent then writes the warm-up puts, which it consumes.
 * 2. `stall` (with the warm-up's last revision): once it holds that revision, it stops
 *    consuming, collects garbage, notes its RSS and answers `stalled`.
 * 3. `resume` (with the last revision written while stalled): it waits until the events
 *    have arrived, collects garbage, notes its RSS, then consumes until it holds the final
 *    state and answers `done` with the figures.
 */

import { setTimeout as delay } from "node:timers/promises";
import type { IKeyValue, IWatchResponse } from "etcd3";
import { withInternal } from "../src/etcd/value-options.js";
import { createEtcdClient, EtcdRangeValue } from "../src/index.js";
import { Arrivals, gc, now, untilLive } from "./etcd-common.js";

/** Parent → child. */
export type ToChild = { type: "stall"; target: number } | { type: "resume"; target: number };

/** Child → parent. */
export type FromChild =
  | { type: "ready" }
  | { type: "stalled" }
  | {
      type: "done";
      rssBefore: number;
      rssStalled: number;
      peakRss: number;
      heapBefore: number;
      heapStalled: number;
      resumeMs: number;
      keys: number;
    };

/** One side's consumer: its state is the latest value of each key. */
interface Side {
  /** Revisions the consumer holds (applied to its state). */
  readonly held: Arrivals;
  /** Revisions that have reached the process (consumed or not). */
  readonly arrived: Arrivals;
  readonly state: Map<string, Uint8Array | undefined>;
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

const [side, endpoint, prefix] = process.argv.slice(2) as [string, string, string];
const client = createEtcdClient({ hosts: [endpoint] });

function send(message: FromChild): void {
  process.send?.(message);
}

/**
 * event-value: a per-key watcher of an `EtcdRangeValue` on the prefix, consuming with
 * `get()` in a loop; stalled, it does not call `get()`. `arrived` listens to the gRPC
 * stream through a test seam (the newest event revision received): it only tells when the
 * events are in, and changes nothing.
 */
async function ours(): Promise<Side> {
  const arrived = new Arrivals();
  const range = new EtcdRangeValue(
    client,
    { prefix },
    withInternal(
      {},
      {
        hooks: {
          watchCreated: (call) => {
            call.on("data", (response: IWatchResponse) => {
              const last = response.events.at(-1);
              if (last !== undefined) arrived.seen(Number(last.kv.mod_revision));
            });
          },
        },
      },
    ),
  );
  const watcher = range.watch();
  const held = new Arrivals();
  const state = new Map<string, Uint8Array | undefined>();
  let controller = new AbortController();
  const consume = async (signal: AbortSignal): Promise<void> => {
    try {
      for (;;) {
        const update = await watcher.get(signal);
        state.set(update.key, update.value);
        held.seen(watcher.revision as number);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  };
  let loop = consume(controller.signal);
  await untilLive(range.status());
  return {
    held,
    arrived,
    state,
    stall: () => controller.abort(),
    resume: () => {
      controller = new AbortController();
      loop = consume(controller.signal);
    },
    close: async () => {
      controller.abort();
      await loop;
      watcher.close();
    },
  };
}

/** The baseline: a raw etcd3 prefix watcher; stalled, its `'put'` listener buffers. */
async function raw(): Promise<Side> {
  const held = new Arrivals();
  const arrived = new Arrivals();
  const state = new Map<string, Uint8Array | undefined>();
  let buffer: IKeyValue[] | undefined;
  const apply = (kv: IKeyValue): void => {
    state.set(kv.key.toString(), kv.value);
    held.seen(Number(kv.mod_revision));
  };
  const watcher = await client.watch().prefix(prefix).create();
  watcher.on("error", () => {});
  watcher.on("put", (kv) => {
    arrived.seen(Number(kv.mod_revision));
    if (buffer === undefined) apply(kv);
    else buffer.push(kv);
  });
  return {
    held,
    arrived,
    state,
    stall: () => {
      buffer = [];
    },
    resume: () => {
      const buffered = buffer ?? [];
      buffer = undefined;
      for (const kv of buffered) apply(kv);
    },
    close: () => watcher.cancel(),
  };
}

/**
 * Full GCs with a pause between, the same before both RSS readings: a single `gc()` right
 * after a burst of events leaves pages V8 returns to the OS only a little later.
 */
async function quiesce(): Promise<void> {
  gc();
  await delay(200);
  gc();
}

const consumer = side === "ours" ? await ours() : await raw();
let rssBefore = 0;
let heapBefore = 0;
let peakRss = 0;
let sampler: NodeJS.Timeout | undefined;

process.on("message", async (message: ToChild) => {
  if (message.type === "stall") {
    await consumer.held.until(message.target);
    consumer.stall();
    await quiesce();
    rssBefore = process.memoryUsage().rss;
    heapBefore = process.memoryUsage().heapUsed;
    peakRss = rssBefore;
    sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    send({ type: "stalled" });
    return;
  }
  await consumer.arrived.until(message.target);
  clearInterval(sampler);
  await quiesce();
  const rssStalled = process.memoryUsage().rss;
  const heapStalled = process.memoryUsage().heapUsed;
  peakRss = Math.max(peakRss, rssStalled);
  const start = now();
  consumer.resume();
  await consumer.held.until(message.target);
  const resumeMs = now() - start;
  const keys = [...consumer.state.values()].filter((value) => value !== undefined).length;
  send({
    type: "done",
    rssBefore,
    rssStalled,
    peakRss,
    heapBefore,
    heapStalled,
    resumeMs,
    keys,
  });
  await consumer.close();
  client.close();
  process.disconnect();
});

send({ type: "ready" });
