/**
 * One unary request to etcd's KV service, sent once by the library itself (a range page,
 * a write) rather than through etcd3's retry policy, and waited for within a bound: a
 * soft or idle timeout, and the caller's signal. Giving up cancels the call and is an
 * outcome, not a failure, so that it never reaches a member's circuit breaker.
 *
 * @module
 */

import { castGrpcError } from "etcd3";
import { RequestTimeoutError } from "../event/errors.js";

/** Why a request got no answer: its bound expired (`RequestTimeoutError`) or the signal aborted (its reason). */
export class Unanswered {
  constructor(readonly error: unknown) {}
}

/** A unary method of a grpc-js service client. */
type UnaryMethod = (
  request: unknown,
  metadata: unknown,
  options: unknown,
  callback: (error: Error | null, response?: unknown) => void,
) => { cancel(): void };

/** A unary call under way: its answer (failures cast to etcd3's error classes), and how to cancel it. */
export interface StartedCall<Response> {
  readonly answer: Promise<Response>;
  cancel(): void;
}

/**
 * Calls `method` of `client` (a grpc-js KV service client lent by etcd3's pool) once with
 * `request`, the pool's `metadata` (auth) and `callOptions`.
 */
export function startKvCall<Response>(
  client: unknown,
  method: string,
  request: unknown,
  metadata: unknown,
  callOptions: unknown,
): StartedCall<Response> {
  let call: { cancel(): void } | undefined;
  const answer = new Promise<Response>((resolve, reject) => {
    const unary = (client as Record<string, UnaryMethod>)[method] as UnaryMethod;
    call = unary.call(client, request, metadata, callOptions, (error, response) => {
      if (error !== null) reject(castGrpcError(error));
      else resolve(response as Response);
    });
  });
  return { answer, cancel: () => call?.cancel() };
}

/** How long {@link awaitAnswer} waits. */
export interface AnswerBound {
  /**
   * Bounds the wait for `answer`: rejects with a `RequestTimeoutError` when it expires
   * (`withSoftTimeout` or `withIdleTimeout`), else settles like `answer`.
   */
  readonly bound: <T>(answer: Promise<T>) => Promise<T>;
  /** Stops the wait; the call is then unanswered with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
  /** Cancels the request when the wait is given up (a no-op once answered). */
  readonly cancel?: (() => void) | undefined;
}

/**
 * Waits for `answer` within `bound` and `signal`. Resolves with the answer, or with
 * {@link Unanswered} (after `cancel()`) when the bound expired or the signal aborted,
 * even before the wait began; rejects with the answer's failure. A failure of `answer`
 * after the wait was given up is handled.
 */
export async function awaitAnswer<T>(
  answer: Promise<T>,
  { bound, signal, cancel }: AnswerBound,
): Promise<T | Unanswered> {
  answer.catch(() => {}); // may fail after we gave up: nobody awaits it then
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    if (signal?.aborted) throw signal.reason;
    return await Promise.race([bound(answer), aborted]);
  } catch (error) {
    if (error instanceof RequestTimeoutError || (signal?.aborted && error === signal.reason)) {
      cancel?.();
      return new Unanswered(error);
    }
    throw error;
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}
