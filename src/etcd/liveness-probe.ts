/**
 * One liveness probe: a cheap linearizable request through the user's client, bounded
 * by a soft timeout (a timer raced against the call, not a gRPC deadline: etcd3 reuses
 * an expired deadline in its own retries, and those failures trip the client's circuit
 * breakers; RELIABILITY.md, trap 20).
 *
 * @module
 */

import { etcdAnswered } from "./classify.js";
import type { EtcdPort } from "./port.js";

/**
 * The key the probe counts, relative to the client's namespace. It need not exist: the
 * probe asks only for the number of keys (`count_only`), so no value is transferred.
 * A user without read access to it gets "permission denied", which is an answer: alive.
 */
export const LIVENESS_PROBE_KEY = "/event-value/liveness-probe";

/**
 * Asks etcd for the count of {@link LIVENESS_PROBE_KEY} with a linearizable range (so a
 * member without a leader does not count as alive). Resolves true when etcd answered,
 * with data or with an error that is an answer (see `etcdAnswered`); false on any other
 * error, or when no answer came within `timeoutMs`. Never rejects.
 *
 * The timeout is declared only after I/O already received has been handled (one
 * `setImmediate` after the timer), so a stall of this process's event loop longer than
 * `timeoutMs` is not mistaken for a slow etcd. The timer is unref'd. A request that timed
 * out is left to etcd3, which ends it when it is answered or its connection fails.
 */
export function probeOnce(port: EtcdPort, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let settled = false;
    const finish = (alive: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(alive);
    };
    // The immediate stays ref'd: an unref'd one does not wake a loop blocked in poll, and
    // it lives for one turn only.
    const timer = setTimeout(() => setImmediate(() => finish(false)), timeoutMs);
    timer.unref();
    let request: Promise<unknown>;
    try {
      request = port.range({
        key: Buffer.concat([port.prefix, Buffer.from(LIVENESS_PROBE_KEY)]),
        count_only: true,
      });
    } catch (error) {
      finish(etcdAnswered(error)); // e.g. a client closed before the call was made
      return;
    }
    request.then(
      () => finish(true),
      (error: unknown) => finish(etcdAnswered(error)),
    );
  });
}
