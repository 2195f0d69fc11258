/**
 * Options of `EtcdLiveness` (defaults and validation: `src/etcd/liveness-options.ts`).
 *
 * @module
 */

/** Options of `EtcdLiveness`. All times are in milliseconds. */
export interface EtcdLivenessOptions {
  /**
   * Time from the start of one probe to the start of the next; default 5000. A positive
   * finite number, at most 2147483647 (the longest Node.js timer).
   */
  interval?: number;
  /**
   * How long a probe waits for etcd's answer before it counts as "no answer"; default
   * `min(interval, 2000)`. A positive finite number, at most `interval`, so every probe
   * has a result before the next one starts.
   */
  timeout?: number;
}
