/**
 * A config hot-reload controller written against `EventValue`, not against a backend:
 * production hands it an `EtcdValue`, the unit tests (test/unit/examples.test.ts) a
 * `MemoryValue`. The demo's replicas (replicated-controller.ts) share its `AppConfig`,
 * `validateConfig` and `formatConfig`.
 *
 * It watches the config with `for await`, validates each value, applies the good ones
 * and keeps the last good one when the config is absent or invalid. It watches with
 * `watch({ signal })`: aborting `signal` closes the watcher, which ends the loop normally
 * (clause 9 of `Watcher.get`), and a signal already aborted ends it before any read.
 *
 * @module
 */

import type { EventValue } from "../src/index.js";

export const logLevels = ["debug", "info", "warn", "error"] as const;

/** The application's configuration. */
export interface AppConfig {
  /** Worker count, an integer from 1 to 64. */
  workers: number;
  logLevel: (typeof logLevels)[number];
}

/** What the controller did with one value it received. */
export type ControllerEvent =
  | { kind: "reload"; reload: number; revision: number; config: AppConfig }
  | { kind: "absent"; revision: number; kept: AppConfig | undefined }
  | { kind: "rejected"; revision: number; reason: string; kept: AppConfig | undefined };

export interface ControllerOptions {
  /** Receives one line per value received. Default: `console.log`. */
  log?: (line: string) => void;
  /** Applies a validated config (resize a pool, set a log level…). Default: nothing. */
  apply?: (config: AppConfig) => void;
  /** Called after each value has been handled, after `log`. */
  onEvent?: (event: ControllerEvent) => void;
}

/** What the controller had done when it stopped. */
export interface ControllerResult {
  reloads: number;
  config: AppConfig | undefined;
}

/**
 * Watches `config` until `signal` aborts, then resolves. Rejects only if the watcher
 * does (e.g. a `DecodeError` from an etcd value whose decoder is not wrapped in
 * `decoders.safe`) or if `log`, `apply` or `onEvent` throws; the watcher is closed
 * either way.
 */
export async function runController(
  config: EventValue<AppConfig | undefined>,
  signal: AbortSignal,
  options: ControllerOptions = {},
): Promise<ControllerResult> {
  const log = options.log ?? console.log;
  let reloads = 0;
  let applied: AppConfig | undefined;
  const watcher = config.watch({ signal });
  for await (const next of watcher) {
    const revision = watcher.revision!; // set by the get() that returned `next`
    let event: ControllerEvent;
    if (next === undefined) {
      event = { kind: "absent", revision, kept: applied };
    } else {
      const problem = validateConfig(next);
      if (problem === undefined) {
        options.apply?.(next);
        applied = next;
        reloads += 1;
        event = { kind: "reload", reload: reloads, revision, config: next };
      } else {
        event = { kind: "rejected", revision, reason: problem, kept: applied };
      }
    }
    log(describeEvent(event));
    options.onEvent?.(event);
  }
  return { reloads, config: applied };
}

/** Returns what is wrong with `config`, or `undefined` when it can be applied. */
export function validateConfig(config: AppConfig): string | undefined {
  const { workers, logLevel } = config;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    return `workers must be an integer from 1 to 64, got ${JSON.stringify(workers)}`;
  }
  if (!logLevels.includes(logLevel)) {
    return `logLevel must be one of ${logLevels.join(", ")}, got ${JSON.stringify(logLevel)}`;
  }
  return undefined;
}

/** `workers=8 logLevel=debug`, or `nothing` before the first good config. */
export function formatConfig(config: AppConfig | undefined): string {
  return config === undefined ? "nothing" : `workers=${config.workers} logLevel=${config.logLevel}`;
}

/** The line logged for `event`, e.g. `reload #3 rev 4: workers=8 logLevel=debug`. */
export function describeEvent(event: ControllerEvent): string {
  switch (event.kind) {
    case "reload":
      return `reload #${event.reload} rev ${event.revision}: ${formatConfig(event.config)}`;
    case "absent":
      return `config absent at rev ${event.revision}: keeping ${formatConfig(event.kept)}`;
    case "rejected":
      return `config rejected at rev ${event.revision}: ${event.reason}; keeping ${formatConfig(event.kept)}`;
  }
}
