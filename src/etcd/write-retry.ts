/**
 * Sending a write until etcd answers it: an attempt that certainly never reached etcd's
 * log is sent again after a backoff delay; one that may have reached it never is.
 *
 * @module
 */

import type { BackoffOptions } from "exponential-backoff";
import { AmbiguousWriteError, WriteFailedError } from "../event/errors.js";
import { isPermanentFailure } from "./classify.js";
import type { EtcdPort } from "./port.js";
import { type StoredKv, toStoredKv } from "./range-read.js";
import { DEFAULT_BACKOFF } from "./retry-policy.js";
import type { WriteFault } from "./write-outcome.js";
import { sendOnce, type WriteCall, type WriteResponse } from "./write-request.js";

/** What {@link sendWrite} needs besides the request. */
export interface SendOptions {
  /** The key as the caller named it, for errors. */
  readonly key: string;
  /** The value's backoff options, merged over `DEFAULT_BACKOFF`. */
  readonly backoff: BackoffOptions;
  /** Soft timeout of each attempt, in ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Sends `call` and resolves with etcd's answer. Rejects with:
 * - `signal.reason` when the signal aborts while no attempt is out (nothing applied);
 * - `AmbiguousWriteError` when an attempt may have been applied (sent, then no answer,
 *   a lost connection, the signal aborting, or etcd's "request timed out");
 * - `WriteFailedError` when etcd refused it for good, or when `backoff.numOfAttempts`
 *   unsent attempts, or `backoff.retry` returning false, ended the retries (then
 *   nothing was applied; `cause`: the last failure).
 */
export function sendWrite(
  port: EtcdPort,
  call: WriteCall,
  options: SendOptions,
): Promise<WriteResponse> {
  return retryUnsent(options, async () => {
    const attempt = await sendOnce(port, call, options);
    return attempt.ok ? { ok: true, value: attempt.response } : attempt;
  });
}

/** The key read at the current revision (linearizable), before an update. */
export interface KeyRead {
  /** The key's value; undefined when absent. */
  readonly kv: StoredKv | undefined;
  /** The revision of the read. */
  readonly revision: number;
}

/**
 * Reads `key` (with the namespace prefix) through `EtcdPort.readPage` (outside the
 * client's retry policy and breakers), retrying every failure but a permanent one (reads
 * are safe to repeat); rejects like {@link sendWrite}, never ambiguously.
 */
export function readKey(port: EtcdPort, key: Buffer, options: SendOptions): Promise<KeyRead> {
  return retryUnsent(options, async () => {
    try {
      const response = await port.readPage(
        { key },
        { idleTimeoutMs: options.timeoutMs, signal: options.signal },
      );
      const kv = response.kvs[0];
      const value = {
        kv: kv === undefined ? undefined : toStoredKv(kv),
        revision: Number(response.header.revision),
      };
      return { ok: true, value };
    } catch (error) {
      if (options.signal?.aborted && error === options.signal.reason) throw error;
      return { ok: false, fault: isPermanentFailure(error) ? "permanent" : "unsent", error };
    }
  });
}

type Outcome<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly fault: WriteFault; readonly error: unknown };

/** Runs `attempt` until it answers, waiting with backoff after each `unsent` fault. */
async function retryUnsent<R>(
  options: SendOptions,
  attempt: () => Promise<Outcome<R>>,
): Promise<R> {
  const { key, signal } = options;
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  for (let count = 1; ; count++) {
    signal?.throwIfAborted();
    const outcome = await attempt();
    if (outcome.ok) return outcome.value;
    if (outcome.fault === "ambiguous") throw new AmbiguousWriteError(key, outcome.error);
    if (outcome.fault === "permanent") throw new WriteFailedError(key, outcome.error);
    signal?.throwIfAborted();
    const more =
      count < (backoff.numOfAttempts ?? Number.POSITIVE_INFINITY) &&
      (backoff.retry === undefined || (await backoff.retry(outcome.error, count + 1)));
    if (!more) throw new WriteFailedError(key, outcome.error);
    await sleep(retryDelay(backoff, count), signal);
  }
}

/**
 * The delay before attempt `attempt + 1`, in ms, as exponential-backoff computes it:
 * `startingDelay × timeMultiple^(attempt − 1)`, at most `maxDelay`, and with full jitter
 * a random delay between 0 and that.
 */
export function retryDelay(backoff: BackoffOptions, attempt: number): number {
  const { startingDelay = 100, timeMultiple = 2, maxDelay = Number.POSITIVE_INFINITY } = backoff;
  const bound = Math.min(maxDelay, startingDelay * timeMultiple ** (attempt - 1));
  return backoff.jitter === "full" ? Math.random() * bound : bound;
}

/** Waits `ms`, or rejects with `signal.reason` when it aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
