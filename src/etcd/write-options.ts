/**
 * Validation of a write's conditions (the types: `src/etcd-types/write-options.ts`).
 *
 * @module
 */

import type { Guard } from "../etcd-types/guard.js";
import type { LeaseRef, WriteConditions } from "../etcd-types/write-options.js";
import { requireString } from "./value-options.js";

/** {@link WriteConditions}, checked, with keys as bytes with the namespace prefix. */
export interface ParsedWriteOptions {
  readonly ifRevision: number | undefined;
  readonly guards: readonly { readonly key: Buffer; readonly createRevision: number }[];
  readonly lease: string | undefined;
  readonly signal: AbortSignal | undefined;
}

/** Checks `options`; throws a `TypeError` naming what is wrong. */
export function parseWriteOptions(
  options: WriteConditions | undefined,
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
  if (lease !== undefined && !/^[0-9]+$/.test((lease as Partial<LeaseRef> | null)?.id ?? "")) {
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
