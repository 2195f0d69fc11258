/**
 * One range request of the library's own paging, made so that it never counts against
 * the user's client: etcd3 retries a failed call three times and reports every failure,
 * an answer over the client's receive limit included, to the member's circuit breaker,
 * which opens after three and then fails the user's own calls (RELIABILITY.md, trap 21).
 * A page that may be too large, or that we abandon, must be neither retried nor reported.
 *
 * @module
 */

import {
  EtcdInvalidAuthTokenError,
  GRPCResourceExhastedError,
  type IRangeRequest,
  type IRangeResponse,
  type ITxnRequest,
} from "etcd3";
import { awaitAnswer, startKvCall, Unanswered } from "./kv-call.js";
import { withIdleTimeout } from "./soft-timeout.js";
import { progressFrom } from "./transport-activity.js";

/** Options of a page request. */
export interface PageRequestOptions {
  /**
   * Silence, in ms, after which the request is abandoned (cancelled) with a
   * `RequestTimeoutError`: bytes arriving from the member reset it (see
   * `withIdleTimeout`), so a page making progress on a slow link is never abandoned.
   */
  readonly idleTimeoutMs: number;
  /** Cancels the request; it then rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
}

/** gRPC call options (grpc-js `CallOptions`), passed through as the client made them. */
export type CallOptions = Readonly<Record<string, unknown>>;

/** gRPC metadata (grpc-js `Metadata`), passed through as the pool made it. */
type Metadata = unknown;

/** What a call made through the pool's `withConnection` receives (etcd3's `ICallable`). */
export interface ConnectionArgs {
  readonly resource: { readonly host: string };
  readonly client: unknown;
  readonly metadata: Metadata;
}

/**
 * The outcome of one call, returned (not thrown) to the pool when it is ours to handle,
 * so that etcd3's fault handling does not count it against the member: an answer over
 * the receive limit, our timeout or cancellation, an expired auth token.
 */
export type PageOutcome<Res = IRangeResponse> =
  | { readonly ok: true; readonly response: Res }
  | { readonly ok: false; readonly error: unknown };

/**
 * Runs `request`, a Range or a read-only Txn (it must hold no write, or the read could
 * not be abandoned safely), on the member of `args` (inside etcd3's `withConnection`),
 * with `callOptions` (the client's defaults without `deadline`: our idle timeout replaces
 * it, see trap 20). Resolves with the failures listed in {@link PageOutcome}; rejects
 * with the others (the member unavailable…), which the pool then reports as it would for
 * any call.
 */
export async function runRead<Response>(
  args: ConnectionArgs,
  method: "range" | "txn",
  request: IRangeRequest | ITxnRequest,
  callOptions: CallOptions,
  options: PageRequestOptions,
): Promise<PageOutcome<Response>> {
  const { signal, idleTimeoutMs } = options;
  if (signal?.aborted === true) return { ok: false, error: signal.reason };
  const call = startKvCall<Response>(args.client, method, request, args.metadata, callOptions);
  const what = method === "range" ? "etcd range page" : "etcd batched read";
  const progress = progressFrom(args.resource.host);
  try {
    const answer = await awaitAnswer(call.answer, {
      bound: (pending) => withIdleTimeout(pending, idleTimeoutMs, what, progress),
      signal,
      cancel: call.cancel, // abandoned: stop the download
    });
    if (answer instanceof Unanswered) return { ok: false, error: answer.error };
    return { ok: true, response: answer };
  } catch (error) {
    if (isOurs(error)) return { ok: false, error };
    throw error;
  }
}

/**
 * Answers that are not the member's fault, and must not be reported to its breaker: a
 * response over the receive limit, an expired auth token. (Our timeout and the caller's
 * abort are `Unanswered`.)
 */
function isOurs(error: unknown): boolean {
  return error instanceof GRPCResourceExhastedError || error instanceof EtcdInvalidAuthTokenError;
}
