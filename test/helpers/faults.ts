/** Helpers for the fault tests against real etcd: clients, status logs, bounded waits. */

import { setTimeout as delay } from "node:timers/promises";
import type { ExecutionContext } from "ava";
import type { Etcd3, IOptions } from "etcd3";
import {
  createEtcdClient,
  type EventValue,
  MemoryValue,
  type Watcher,
  type WatchStatus,
} from "../../src/index.js";
import type { EtcdMember } from "../harness/etcd-member.js";

/** A client with the options the library recommends (`createEtcdClient`). Close it yourself. */
export function recommendedClient(
  hosts: readonly string[],
  options: Partial<IOptions> = {},
): Etcd3 {
  return createEtcdClient({ ...options, hosts: [...hosts] });
}

/** A signal that aborts after `ms` with an error naming `what`. */
export function deadline(ms: number, what: string): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${ms} ms waiting for ${what}`)),
    ms,
  );
  timer.unref();
  return controller.signal;
}

/**
 * Records every status of a value from now on (in a background loop), and waits for
 * states. Close it when done.
 */
export class StatusLog {
  readonly states: WatchStatus[] = [];
  readonly #watcher: Watcher<WatchStatus>;
  readonly #loop: Promise<void>;
  /** How many statuses are recorded: wakes `next()`. */
  readonly #count = new MemoryValue(0);

  constructor(value: { status(): EventValue<WatchStatus> }) {
    const watcher = value.status().watch();
    this.#watcher = watcher;
    this.#loop = (async () => {
      for await (const status of watcher) {
        this.states.push(status);
        this.#count.set(this.states.length);
      }
    })();
  }

  /** The states in order, as a compact string, e.g. `connecting live stale live`. */
  get trail(): string {
    return this.states.map((status) => status.state).join(" ");
  }

  /** Resolves with the first recorded status from index `from` on that passes `test`. */
  async next(
    test: (status: WatchStatus) => boolean,
    from: number,
    ms: number,
    what: string,
  ): Promise<{ status: WatchStatus; index: number }> {
    const signal = deadline(ms, what);
    const recorded = this.#count.watch();
    try {
      for (;;) {
        const index = this.states.findIndex((status, i) => i >= from && test(status));
        if (index >= 0) return { status: this.states[index] as WatchStatus, index };
        await recorded.get({ signal }); // the next status recorded
      }
    } finally {
      recorded.close();
    }
  }

  async close(): Promise<void> {
    this.#watcher.close();
    await this.#loop;
  }
}

/**
 * A watcher of `value` and a {@link StatusLog} of it (started first, so it sees the
 * watch start); after the test the watcher is closed, then the log.
 */
export function watchLogged<T>(
  t: ExecutionContext,
  value: { watch(): Watcher<T>; status(): EventValue<WatchStatus> },
): { w: Watcher<T>; log: StatusLog } {
  const log = new StatusLog(value);
  const w = value.watch();
  t.teardown(() => {
    w.close();
    return log.close();
  });
  return { w, log };
}

/**
 * Puts `value` at `key`, retrying every 100 ms while the cluster cannot take writes
 * (no leader yet, a member down); resolves with the revision of the put that succeeded.
 */
export async function putRetrying(
  client: Etcd3,
  key: string,
  value: string,
  ms = 20_000,
): Promise<number> {
  const signal = deadline(ms, `a put of ${key} to succeed`);
  for (;;) {
    try {
      const response = await client.put(key).value(value).exec();
      return Number(response.header.revision);
    } catch (error) {
      if (signal.aborted) throw new Error(String(signal.reason), { cause: error });
      await delay(100);
    }
  }
}

/** The member whose client URL is `member` (`host:port`, as a watch stream reports it). */
export function memberAt(members: readonly EtcdMember[], member: string | undefined): EtcdMember {
  const found = members.find((m) => m.clientUrl.replace(/^https?:\/\//, "") === member);
  if (found === undefined) throw new Error(`no member at ${String(member)}`);
  return found;
}

/** Puts `count` keys `${prefix}${i}` (zero-padded) with `value(i)`, `parallel` in flight. */
export async function putMany(
  client: Etcd3,
  keys: readonly string[],
  value: (key: string) => string,
  parallel = 64,
): Promise<number> {
  let next = 0;
  let last = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const response = await client.put(key).value(value(key)).exec();
      last = Math.max(last, Number(response.header.revision));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return last;
}
