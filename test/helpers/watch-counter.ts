/** Counts etcd watches held by the library, through its diagnostics channel. */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { ETCD_WATCH_CHANNEL, type EtcdWatchMessage } from "../../src/index.js";

/** Live count of etcd watches per target, for as long as it is subscribed. */
export class WatchCounter implements Disposable {
  readonly #open = new Map<string, number>();
  readonly #listener = (message: unknown): void => {
    const event = message as EtcdWatchMessage;
    const delta = event.type === "watch-created" ? 1 : event.type === "watch-ended" ? -1 : 0;
    this.#open.set(event.target, (this.#open.get(event.target) ?? 0) + delta);
  };

  constructor() {
    subscribe(ETCD_WATCH_CHANNEL, this.#listener);
  }

  /** Watches open now for `target` (e.g. `key "/k"`). */
  open(target: string): number {
    return this.#open.get(target) ?? 0;
  }

  [Symbol.dispose](): void {
    unsubscribe(ETCD_WATCH_CHANNEL, this.#listener);
  }
}
