/**
 * The leader of an election, as `EtcdElection.leader()` reports it.
 *
 * @module
 */

/** An election's leader. */
export interface Leader<T> {
  /** The leader's key, `${name}/${lease ID in hex}`, relative to the client's namespace. */
  key: string;
  /** The leader's value (its campaign value, or the last it proclaimed), decoded. */
  value: T;
  /** The leader's term: its key's create revision, greater for every later leader. */
  createRevision: number;
  /** The mod revision of the leader's key: changes with each proclamation. */
  revision: number;
}
