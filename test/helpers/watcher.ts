/** Watchers that never outlive their test. */

import type { ExecutionContext } from "ava";
import type { EventValue, Watcher } from "../../src/index.js";

/** A watcher of `value`, closed when the test ends, also when an assertion fails. */
export function watcher<T>(t: ExecutionContext, value: EventValue<T>): Watcher<T> {
  const w = value.watch();
  t.teardown(() => w.close());
  return w;
}
