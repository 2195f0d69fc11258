/** Test helpers for ordering races without sleeping. */

import { setImmediate as nextMacrotask } from "node:timers/promises";

const PENDING = Symbol("pending");

/**
 * Whether `promise` is still pending after every queued microtask and one macrotask
 * turn have run (so anything already resolvable has resolved).
 */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  promise.catch(() => {}); // the caller inspects the rejection later
  const outcome = await Promise.race([
    promise.then(
      () => "settled",
      () => "settled",
    ),
    nextMacrotask(PENDING),
  ]);
  return outcome === PENDING;
}

/** Resolves after every queued microtask and one macrotask turn have run. */
export function flush(): Promise<void> {
  return nextMacrotask(undefined);
}
