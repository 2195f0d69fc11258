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
  castGrpcError,
  EtcdInvalidAuthTokenError,
  GRPCResourceExhastedError,
  type IRangeRequest,
  type IRangeResponse,
} from "etcd3";
import { RequestTimeoutError } from "../event/errors.js";
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

/** The gRPC KV client's unary `range` method, as grpc-js generates it. */
interface KvStub {
  range(
    request: IRangeRequest,
    metadata: Metadata,
    options: CallOptions,
    callback: (error: Error | null, response?: IRangeResponse) => void,
  ): { cancel(): void };
}

/**
 * The outcome of one call, returned (not thrown) to the pool when it is ours to handle,
 * so that etcd3's fault handling does not count it against the member: an answer over
 * the receive limit, our timeout or cancellation, an expired auth token.
 */
export type PageOutcome =
  | { readonly ok: true; readonly response: IRangeResponse }
  | { readonly ok: false; readonly error: unknown };

/**
 * Runs `request` on the member of `args` (inside etcd3's `withConnection`), with `callOptions`
 * (the client's defaults without `deadline`: our idle timeout replaces it, see trap 20).
 * Resolves with the failures listed in {@link PageOutcome}; rejects with the others (the
 * member unavailable…), which the pool then reports as it would for any call.
 */
export async function runPage(
  args: ConnectionArgs,
  request: IRangeRequest,
  callOptions: CallOptions,
  options: PageRequestOptions,
): Promise<PageOutcome> {
  const stub = args.client as KvStub;
  const { signal, idleTimeoutMs } = options;
  if (signal?.aborted === true) return { ok: false, error: signal.reason };
  let call: { cancel(): void } | undefined;
  const answer = new Promise<IRangeResponse>((resolve, reject) => {
    call = stub.range(request, args.metadata, callOptions, (error, response) => {
      if (error !== null) reject(castGrpcError(error));
      else resolve(response as IRangeResponse);
    });
  });
  let aborted: (() => void) | undefined;
  const cancelled = new Promise<never>((_, reject) => {
    aborted = () => reject(signal?.reason);
    signal?.addEventListener("abort", aborted, { once: true });
  });
  try {
    const response = await Promise.race([
      withIdleTimeout(answer, idleTimeoutMs, "etcd range page", progressFrom(args.resource.host)),
      cancelled,
    ]);
    return { ok: true, response };
  } catch (error) {
    if (isOurs(error, signal)) {
      call?.cancel(); // abandoned: stop the download (a no-op once answered)
      return { ok: false, error };
    }
    throw error;
  } finally {
    if (aborted !== undefined) signal?.removeEventListener("abort", aborted);
  }
}

/** Failures that are not the member's fault, and must not be reported to its breaker. */
function isOurs(error: unknown, signal: AbortSignal | undefined): boolean {
  return (
    error instanceof GRPCResourceExhastedError ||
    error instanceof RequestTimeoutError ||
    error instanceof EtcdInvalidAuthTokenError ||
    (signal?.aborted === true && error === signal.reason)
  );
}
