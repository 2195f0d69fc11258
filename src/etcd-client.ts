/**
 * `createEtcdClient`: an `etcd3` client with the options this library recommends.
 *
 * @module
 */

import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
} from "cockatiel";
import { Etcd3, type IOptions, isRecoverableError } from "etcd3";

/**
 * gRPC channel options the library recommends, and why:
 * - `grpc.keepalive_time_ms: 5000`, `grpc.keepalive_timeout_ms: 2000`: a connection to
 *   a frozen or partitioned member is noticed within ~7 s for every call in flight, not
 *   only for watches (the library notices stalled watches by itself). 5 s is etcd's
 *   `--grpc-keepalive-min-time`: pinging more often gets the connection closed with
 *   GOAWAY `too_many_pings`, which fails every call on it.
 * - `grpc.keepalive_permit_without_calls: 0`: no pings on a connection without calls.
 *   etcd forbids them (its enforcement policy does not permit pings without streams): a
 *   client idle for ~20 s would have its connection closed with `too_many_pings`, and a
 *   call starting at that moment would fail.
 * - `grpc.max_receive_message_length: 64 MiB`: large reads and catch-ups fit in a
 *   message (the default 4 MiB fails with RESOURCE_EXHAUSTED, then forever on retry).
 */
export const RECOMMENDED_GRPC_OPTIONS: Readonly<Record<string, number>> = Object.freeze({
  "grpc.keepalive_time_ms": 5000,
  "grpc.keepalive_timeout_ms": 2000,
  "grpc.keepalive_permit_without_calls": 0,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
});

/**
 * Builds an `Etcd3` client from `options` (etcd3's own), filling in what the library
 * recommends where `options` is silent:
 * - `grpcOptions`: {@link RECOMMENDED_GRPC_OPTIONS}, merged under the caller's.
 * - `faultHandling.host`: a circuit breaker per member that opens after 3 consecutive
 *   failures and half-opens after 500 ms (etcd3's default waits 5000 ms, so a restarted
 *   member is used again up to 5 s late; with a single host every call fails meanwhile
 *   with `BrokenCircuitError`).
 * - `faultHandling.watchBackoff`: 50 ms doubling to 1000 ms, for etcd3's own watchers
 *   (the default backs off to 30 s); event-value's watchers use their own `backoff`.
 *
 * With these, a watch is back within about a second of a restarted member becoming
 * healthy. The caller owns the client: `close()` it after closing its watchers.
 */
export function createEtcdClient(options: IOptions): Etcd3 {
  return new Etcd3({
    ...options,
    grpcOptions: { ...RECOMMENDED_GRPC_OPTIONS, ...options.grpcOptions },
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: 500,
          breaker: new ConsecutiveBreaker(3),
        }),
      // etcd3 calls `.next()` on it, as on cockatiel's backoff factories (its own docs pass
      // `new ExponentialBackoff()`); its option type names the instance type instead.
      watchBackoff: new ExponentialBackoff({
        initialDelay: 50,
        maxDelay: 1000,
      }) as unknown as IBackoff<unknown>,
      ...options.faultHandling,
    },
  });
}
