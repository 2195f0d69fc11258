/**
 * The status of an etcd value's watch as an event value.
 *
 * @module
 */

import type { WatchStatus } from "../etcd-types/watch-status.js";
import type { EventValue, Watcher, WatchOptions } from "../event/contract.js";
import { LatestSlot } from "../event/latest-slot.js";

/**
 * Holds the latest {@link WatchStatus}; each change is a new revision (1, 2, …).
 * Watching it starts no I/O.
 */
export class StatusSlot implements EventValue<WatchStatus> {
  readonly #slot = new LatestSlot<WatchStatus>();

  constructor() {
    this.#slot.publish(Object.freeze({ state: "connecting", since: Date.now() }), 1);
  }

  /** Publishes `status` as the newest. */
  set(status: WatchStatus): void {
    this.#slot.publish(Object.freeze(status), this.#slot.revision + 1);
  }

  watch(options?: WatchOptions): Watcher<WatchStatus> {
    return this.#slot.watch(itself, options);
  }
}

/** The reader of every status watcher: the status itself. */
const itself = (status: WatchStatus): WatchStatus => status;
