/**
 * The shared watch streams of one client: every etcd watch of every value on a client
 * (its connection pool, namespaces included) is created on the client's current stream,
 * so a process watching ten thousand keys holds one stream, not ten thousand, and its
 * idle cost is one progress check per stream. A new stream is opened when there is none,
 * or when the current one broke, stalled, emptied, or refused a create.
 *
 * An emptied stream ends at once, so that a short-lived program exits as soon as its
 * last value closes; but once a stream is opened within {@link LINGER_MS} of the last
 * one's emptying (watches created and cancelled in turn, as a lock or election line
 * does), streams of that timing linger that long when emptied, for the next watch.
 *
 * @module
 */

import type { EtcdPort } from "./port.js";
import {
  LINGER_MS,
  SharedStream,
  type StallTiming,
  type StreamWatch,
  type WatchSpec,
} from "./shared-stream.js";
import { StallPatience } from "./stall-clock.js";

/** The hub of each stream opener: ports with the same `openWatchStream` share streams. */
const hubs = new WeakMap<EtcdPort["openWatchStream"], WatchHub>();

/**
 * The hub that shares watch streams among every port with the same `openWatchStream`
 * (`portOf` gives one per connection pool; a test's port with its own opener gets its
 * own hub). The hub uses the first such port's `suspect` and `isClosed`.
 */
export function watchHub(port: EtcdPort): WatchHub {
  let hub = hubs.get(port.openWatchStream);
  if (hub === undefined) {
    hub = new WatchHub(port);
    hubs.set(port.openWatchStream, hub);
  }
  return hub;
}

/** Shared streams, one current stream per stall timing. */
export class WatchHub {
  readonly #port: EtcdPort;
  /** The current stream (or its opening) per timing, keyed `idle/answer`. */
  readonly #current = new Map<string, Promise<SharedStream>>();
  /** Per timing: after a stall the next stream waits longer (see `StallPatience`). */
  readonly #patience = new Map<string, StallPatience>();
  /** Per timing: when its last stream ended emptied (monotonic ms). */
  readonly #emptiedAt = new Map<string, number>();

  constructor(port: EtcdPort) {
    this.#port = port;
  }

  /**
   * Creates a watch on the current stream for `timing` (opening one if needed) and
   * resolves once etcd confirmed it; rejects as `SharedStream.attach` or
   * `SharedStream.open` do. Concurrent calls share one stream and one opening, and their
   * creates are sent without waiting for each other.
   */
  async attach(spec: WatchSpec, timing: StallTiming): Promise<StreamWatch> {
    const key = `${timing.idleCheckMs}/${timing.answerTimeoutMs}`;
    for (;;) {
      let opening = this.#current.get(key);
      if (opening === undefined) {
        let patience = this.#patience.get(key);
        if (patience === undefined) {
          patience = new StallPatience();
          this.#patience.set(key, patience);
        }
        const churning = performance.now() - (this.#emptiedAt.get(key) ?? -LINGER_MS) < LINGER_MS;
        const onGone = (gone: SharedStream, emptied: boolean): void => {
          if (emptied) this.#emptiedAt.set(key, performance.now());
          void opened.then((current) => {
            if (current === gone && this.#current.get(key) === opened) this.#current.delete(key);
          });
        };
        const opened = SharedStream.open(this.#port, timing, patience, onGone, churning);
        opening = opened;
        this.#current.set(key, opened);
        opened.catch(() => {
          if (this.#current.get(key) === opened) this.#current.delete(key);
        });
      }
      const stream = await opening;
      if (stream.usable) return stream.attach(spec);
      if (this.#current.get(key) === opening) this.#current.delete(key);
    }
  }
}
