/**
 * Options of `EtcdValue.set` and `EtcdValue.update`.
 *
 * @module
 */

import type { EtcdLease } from "./etcd-lease.js";
import type { WriteConditions } from "./etcd-types/write-options.js";

/**
 * Conditions and bounds of one write: `ifRevision`, `guard`, `lease` and `signal`, each
 * documented on its field.
 */
export interface WriteOptions extends WriteConditions {
  /**
   * Attach the key to this lease (puts only; a delete ignores it): the key goes when the
   * lease is revoked or expires. A lease etcd no longer knows: `WriteFailedError`.
   */
  lease?: EtcdLease;
}
