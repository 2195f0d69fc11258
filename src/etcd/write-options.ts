/**
 * Options and results of `EtcdValue.set` and `EtcdValue.update`, and their validation.
 *
 * @module
 */

// A type-only import from the value layer: the option names the public class.
import type { EtcdLease } from "../etcd-lease.js";
import type { Guard } from "./guard.js";
import { requireString } from "./value-options.js";

/** Conditions and bounds of one write. */
export interface WriteOptions {
  /**
   * Write only if the key's mod revision is this (the `revision` a watcher or a write
   * reported); 0: only if the key is absent. A non-negative integer.
   */
  ifRevision?: number;
  /**
   * Write only while each guard's key exists with exactly that create revision: a lock
   * handle or a leadership passed here makes the write apply only while it is held.
   */
  guard?: Guard | readonly Guard[];
  /**
   * Attach the key to this lease (puts only; a delete ignores it): the key goes when the
   * lease is revoked or expires. A lease etcd no longer knows: `WriteFailedError`.
   */
  lease?: EtcdLease;
  /**
   * Bounds the wait: while etcd cannot be reached, a write waits and retries (see
   * `EtcdValue.set`); aborting then rejects with `signal.reason` and nothing is written.
   * Aborting while a request is out rejects with `AmbiguousWriteError` instead.
   */
  signal?: AbortSignal;
}

/**
 * How a write ended:
 * - `ok: true`: applied; `revision` is the write's revision (a delete of an absent key,
 *   which changes nothing: the store's current revision; an `update` whose function
 *   returned the current value: the key's mod revision, 0 when absent).
 * - `reason: "revision"`: `ifRevision` did not match; `revision` and `value` are the
 *   key's now (0 and `undefined`: absent).
 * - `reason: "guard"`: a guard's key is gone or was re-created.
 */
export type WriteResult<T> =
  | {
      /** Applied. */
      ok: true;
      /** The write's revision (see above for a no-op delete or update). */
      revision: number;
    }
  | {
      /** Not applied. */
      ok: false;
      /** `ifRevision` did not match. */
      reason: "revision";
      /** The key's mod revision now; 0: absent. */
      revision: number;
      /** The key's value now; `undefined`: absent. */
      value: T | undefined;
    }
  | {
      /** Not applied. */
      ok: false;
      /** A guard's key is gone or was re-created. */
      reason: "guard";
    };

/** {@link WriteOptions}, checked, with keys as bytes with the namespace prefix. */
export interface ParsedWriteOptions {
  readonly ifRevision: number | undefined;
  readonly guards: readonly { readonly key: Buffer; readonly createRevision: number }[];
  readonly lease: string | undefined;
  readonly signal: AbortSignal | undefined;
}

/** Checks `options`; throws a `TypeError` naming what is wrong. */
export function parseWriteOptions(
  options: WriteOptions | undefined,
  prefix: Buffer,
  allowIfRevision: boolean,
): ParsedWriteOptions {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(`Expected write options to be an object, got ${typeof options}`);
  }
  const { ifRevision, guard, lease, signal } = options ?? {};
  if (ifRevision !== undefined) {
    if (!allowIfRevision) {
      throw new TypeError("update() takes no `ifRevision`: it compares revisions itself");
    }
    requireRevision("ifRevision", ifRevision, 0);
  }
  const guardList: readonly Guard[] =
    guard === undefined ? [] : Array.isArray(guard) ? guard : [guard as Guard];
  const guards = guardList.map((one, i) => {
    const name = Array.isArray(guard) ? `guard[${i}]` : "guard";
    if (typeof one !== "object" || one === null) {
      throw new TypeError(`Expected \`${name}\` to be a Guard ({ key, createRevision })`);
    }
    requireString(`${name}.key`, one.key);
    requireRevision(`${name}.createRevision`, one.createRevision, 1);
    return {
      key: Buffer.concat([prefix, Buffer.from(one.key)]),
      createRevision: one.createRevision,
    };
  });
  if (lease !== undefined && !/^[0-9]+$/.test((lease as Partial<EtcdLease> | null)?.id ?? "")) {
    throw new TypeError("Expected `lease` to be an EtcdLease (its `id`: a decimal lease ID)");
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("Expected `signal` to be an AbortSignal");
  }
  return { ifRevision, guards, lease: lease?.id, signal };
}

function requireRevision(name: string, value: unknown, min: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(
      `Expected \`${name}\` to be an integer >= ${min}, got ${typeof value === "number" ? value : typeof value}`,
    );
  }
}
