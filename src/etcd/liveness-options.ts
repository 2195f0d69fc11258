/**
 * Defaults and validation of `EtcdLiveness`'s options (the type:
 * `src/etcd-types/liveness-options.ts`).
 *
 * @module
 */

import type { EtcdLivenessOptions } from "../etcd-types/liveness-options.js";
import { describeValue } from "../event/describe.js";

/** Default of {@link EtcdLivenessOptions.interval}. */
export const DEFAULT_LIVENESS_INTERVAL = 5000;

/** Upper bound of the default {@link EtcdLivenessOptions.timeout}. */
export const DEFAULT_LIVENESS_TIMEOUT = 2000;

/** The longest delay `setTimeout` honours; a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** Options with defaults applied. */
export interface ResolvedLivenessOptions {
  readonly interval: number;
  readonly timeout: number;
}

/** Applies defaults; throws a `TypeError` naming the bad option. */
export function resolveLivenessOptions(options: unknown): ResolvedLivenessOptions {
  if (options === undefined) {
    return {
      interval: DEFAULT_LIVENESS_INTERVAL,
      timeout: Math.min(DEFAULT_LIVENESS_INTERVAL, DEFAULT_LIVENESS_TIMEOUT),
    };
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Expected \`options\` to be an object or undefined, got ${describeValue(options)}`,
    );
  }
  const given = options as { interval?: unknown; timeout?: unknown };
  const interval =
    given.interval === undefined
      ? DEFAULT_LIVENESS_INTERVAL
      : requireDuration("interval", given.interval);
  const timeout =
    given.timeout === undefined
      ? Math.min(interval, DEFAULT_LIVENESS_TIMEOUT)
      : requireDuration("timeout", given.timeout);
  if (timeout > interval) {
    throw new TypeError(
      `Expected \`timeout\` to be at most \`interval\` (${interval} ms), got ${timeout}`,
    );
  }
  return { interval, timeout };
}

function requireDuration(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new TypeError(
      `Expected \`${name}\` to be a positive finite number of milliseconds, at most ${MAX_TIMER_MS}, got ${describeValue(value)}`,
    );
  }
  return value;
}
