/**
 * Helpers for tests of `EtcdLiveness`: skip what has already arrived, and count the
 * probe results until one has the wanted value.
 */

import { BacklogDoneError, type Watcher } from "../../src/index.js";
import { deadline } from "./faults.js";

/** Takes the result that has already arrived, if any, so the next get() waits for a new one. */
export async function drain(w: Watcher<boolean>): Promise<void> {
  try {
    await w.get({ backlogOnly: true });
  } catch (error) {
    if (!(error instanceof BacklogDoneError)) throw error;
  }
}

/** Gets results until one equals `wanted`; returns how many results that took (1: the first). */
export async function resultsUntil(
  w: Watcher<boolean>,
  wanted: boolean,
  ms: number,
  what: string,
): Promise<number> {
  const signal = deadline(ms, what);
  for (let count = 1; ; count++) {
    if ((await w.get(signal)) === wanted) return count;
  }
}
