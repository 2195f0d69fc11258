/** Test helpers for holding a value's reconnect until the test has set up a fault, and collecting updates. */

import type { KeyUpdate } from "../../src/index.js";
import { deadline } from "./faults.js";

/** Holds a watch's reconnect attempts (as its `backoff.retry`) until `open()`. */
export class Gate {
  /** Resolves when an attempt has failed and waits at the gate. */
  readonly reached: Promise<void>;
  #reach!: () => void;
  #open!: () => void;
  readonly #opened = new Promise<void>((resolve) => {
    this.#open = resolve;
  });

  constructor() {
    this.reached = new Promise((resolve) => {
      this.#reach = resolve;
    });
  }

  /** For `backoff.retry`: waits for `open()`, then allows the retry. */
  async pass(): Promise<boolean> {
    this.#reach();
    await this.#opened;
    return true;
  }

  open(): void {
    this.#open();
  }
}

/** Takes every update of `w` until `done` holds for the collected map. */
export async function collect(
  w: { get(options: { signal: AbortSignal }): Promise<KeyUpdate<string>> },
  done: (updates: Map<string, KeyUpdate<string>>) => boolean,
  what: string,
): Promise<Map<string, KeyUpdate<string>>> {
  const updates = new Map<string, KeyUpdate<string>>();
  const signal = deadline(20_000, what);
  while (!done(updates)) {
    const update = await w.get({ signal });
    updates.set(update.key, update);
  }
  return updates;
}
