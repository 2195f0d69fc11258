/**
 * One write request, sent once: outside etcd3's retry policy, which would repeat a put
 * or a transaction whose answer was lost (RELIABILITY.md, trap 23), and classified by
 * what its failure says about the outcome (see `write-outcome.ts`).
 *
 * How: the call goes through `EtcdPort.withKvConnection` (etcd3's connection pool: the
 * user's members, credentials, auth token and circuit breakers), calling the gRPC method
 * of one member once. A client without those internals falls back to `client.kv`, whose
 * calls go through the client's own retry policy: etcd3's default policy may then repeat
 * a write (at most once no longer holds), except on a mocked client (`client.mock()`,
 * e.g. the in-memory twin), whose calls are never retried.
 *
 * @module
 */

import {
  EtcdInvalidAuthTokenError,
  type IDeleteRangeRequest,
  type IPutRequest,
  type IResponseHeader,
  type IResponseOp,
  type ITxnRequest,
} from "etcd3";
import { RequestTimeoutError } from "../event/errors.js";
import { type AnswerBound, awaitAnswer, startKvCall, Unanswered } from "./kv-call.js";
import type { EtcdPort, KvConnection } from "./port.js";
import { withSoftTimeout } from "./soft-timeout.js";
import { classifyWriteFailure, type WriteFault } from "./write-outcome.js";

/** A write request: the KV method and its request, keys with the namespace prefix. */
export type WriteCall =
  | { readonly method: "put"; readonly request: IPutRequest }
  | { readonly method: "deleteRange"; readonly request: IDeleteRangeRequest }
  | { readonly method: "txn"; readonly request: ITxnRequest };

/** The answer to a {@link WriteCall}: `succeeded` and `responses` for a `txn` only. */
export interface WriteResponse {
  readonly header: IResponseHeader;
  readonly succeeded?: boolean;
  readonly responses?: IResponseOp[];
}

/** How one attempt ended. */
export type WriteAttempt =
  | { readonly ok: true; readonly response: WriteResponse }
  | { readonly ok: false; readonly fault: WriteFault; readonly error: unknown };

/** Bounds of one attempt. */
export interface AttemptOptions {
  /** Soft timeout in ms: no answer by then is an ambiguous outcome. */
  readonly timeoutMs: number;
  /** Aborting while the request is out makes the outcome ambiguous (`error`: the reason). */
  readonly signal?: AbortSignal | undefined;
}

/** The signal aborted before the request left: thrown, not an etcd3 error, never counted. */
class AbortedBeforeSending extends Error {}

/**
 * Sends `call` once and tells how it ended; never throws. An attempt that got no answer
 * in `timeoutMs` marks its member suspect (new watch streams and writes avoid it for a
 * while: see `EtcdPort.suspect`).
 */
export async function sendOnce(
  port: EtcdPort,
  call: WriteCall,
  options: AttemptOptions,
): Promise<WriteAttempt> {
  const connect = port.withKvConnection;
  let sent = false;
  try {
    const answer =
      connect === undefined
        ? await fallback(port, call, options, () => {
            sent = true;
          })
        : await connect(async (connection) => {
            if (options.signal?.aborted) throw new AbortedBeforeSending();
            sent = true;
            return callOnce(connection, call, options, port);
          });
    if (answer instanceof Unanswered) return { ok: false, fault: "ambiguous", error: answer.error };
    return { ok: true, response: answer };
  } catch (error) {
    return { ok: false, fault: classifyWriteFailure(error, sent), error };
  }
}

/** One gRPC call on `connection`, cancelled at the soft timeout or the abort. */
async function callOnce(
  connection: KvConnection,
  call: WriteCall,
  options: AttemptOptions,
  port: EtcdPort,
): Promise<WriteResponse | Unanswered> {
  const started = startKvCall<WriteResponse>(
    connection.client,
    call.method,
    call.request,
    connection.metadata,
    connection.callOptions(call.method, call.request) ?? {},
  );
  try {
    const answer = await awaitAnswer(started.answer, {
      ...bounds(call, options),
      cancel: started.cancel,
    });
    if (answer instanceof Unanswered && answer.error instanceof RequestTimeoutError) {
      port.suspect(connection.member);
    }
    return answer;
  } catch (error) {
    if (error instanceof EtcdInvalidAuthTokenError) connection.invalidateToken();
    throw error;
  }
}

/** The client's own `kv` call, raced against the soft timeout and the abort. */
function fallback(
  port: EtcdPort,
  call: WriteCall,
  options: AttemptOptions,
  markSent: () => void,
): Promise<WriteResponse | Unanswered> {
  markSent();
  const request: Promise<WriteResponse> =
    call.method === "put"
      ? port.kv.put(call.request)
      : call.method === "deleteRange"
        ? port.kv.deleteRange(call.request)
        : port.kv.txn(call.request);
  return awaitAnswer(request, bounds(call, options));
}

/** The soft timeout and signal of one attempt. */
function bounds(call: WriteCall, { timeoutMs, signal }: AttemptOptions): AnswerBound {
  return {
    bound: <T>(answer: Promise<T>) => withSoftTimeout(answer, timeoutMs, `etcd ${call.method}`),
    signal,
  };
}
