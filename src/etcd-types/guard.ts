/**
 * Guards: a condition on another key that a write depends on.
 *
 * @module
 */

/**
 * A key that must exist with exactly this create revision for a guarded write to apply.
 * A lock handle and a leadership are guards: a write guarded by one applies only while
 * the lock or the leadership is held (their key still exists, never re-created).
 */
export interface Guard {
  /** The full key, as the client sees it (relative to a `Namespace`). */
  readonly key: string;
  /** The create revision the key must still have. */
  readonly createRevision: number;
}
