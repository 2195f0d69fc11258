/**
 * The request for one write and the reading of its answer: a plain put or delete when
 * nothing is conditional, else one transaction whose compares are the mod revision
 * (`ifRevision`) and the guards' create revisions, and whose failure branch reads the key
 * and the guards' keys, so a refused write tells why and what the key holds now, in the
 * same round trip.
 *
 * @module
 */

import type { ICompare, IRequestOp } from "etcd3";
import { type StoredKv, toStoredKv } from "./range-read.js";
import type { WriteCall, WriteResponse } from "./write-request.js";

/** What to write, keys with the namespace prefix. */
export interface WritePlan {
  readonly key: Buffer;
  /** `none` writes nothing: a transaction that only checks the conditions. */
  readonly op:
    | { readonly type: "put"; readonly value: Buffer; readonly lease: string | undefined }
    | { readonly type: "delete" }
    | { readonly type: "none" };
  /** Apply only if the key's mod revision is this (0: only if absent). */
  readonly ifRevision: number | undefined;
  /** Apply only while each key exists with this create revision. */
  readonly guards: readonly { readonly key: Buffer; readonly createRevision: number }[];
}

/** How a planned write ended, as etcd answered it. */
export type PlanOutcome =
  | { readonly ok: true; readonly revision: number }
  | {
      readonly ok: false;
      readonly reason: "revision";
      /** The key's mod revision now; 0: absent. */
      readonly revision: number;
      readonly kv: StoredKv | undefined;
      /** The store revision the key was read at. */
      readonly at: number;
    }
  | { readonly ok: false; readonly reason: "guard" };

/** The request that carries out `plan`. */
export function buildWrite(plan: WritePlan): WriteCall {
  const { key, ifRevision, guards } = plan;
  const write = operation(plan);
  if (ifRevision === undefined && guards.length === 0 && write !== undefined) {
    return write.request_put !== undefined
      ? { method: "put", request: write.request_put }
      : { method: "deleteRange", request: { key } };
  }
  const compare: ICompare[] = guards.map((guard) => ({
    key: guard.key,
    target: "Create",
    result: "Equal",
    create_revision: String(guard.createRevision),
  }));
  const failure: IRequestOp[] = guards.map((guard) => ({
    request_range: { key: guard.key, keys_only: true },
  }));
  if (ifRevision !== undefined) {
    compare.unshift({ key, target: "Mod", result: "Equal", mod_revision: String(ifRevision) });
    failure.unshift({ request_range: { key } });
  }
  return {
    method: "txn",
    request: { compare, success: write === undefined ? [] : [write], failure },
  };
}

function operation(plan: WritePlan): IRequestOp | undefined {
  const { key, op } = plan;
  switch (op.type) {
    case "put":
      return {
        request_put: {
          key,
          value: op.value,
          ...(op.lease === undefined ? {} : { lease: op.lease }),
        },
      };
    case "delete":
      return { request_delete_range: { key } };
    case "none":
      return undefined;
  }
}

/** Reads etcd's answer to {@link buildWrite}`(plan)`. */
export function readWrite(plan: WritePlan, response: WriteResponse): PlanOutcome {
  const revision = Number(response.header.revision);
  if (response.succeeded !== false) return { ok: true, revision };
  const ranges = (response.responses ?? []).map((op) => op.response_range?.kvs ?? []);
  const own = plan.ifRevision === undefined ? undefined : ranges.shift();
  const guardHolds = plan.guards.map((guard, i) => {
    const kv = ranges[i]?.[0];
    return kv !== undefined && Number(kv.create_revision) === guard.createRevision;
  });
  if (own === undefined || guardHolds.includes(false)) return { ok: false, reason: "guard" };
  const kv = own[0] === undefined ? undefined : toStoredKv(own[0]);
  return { ok: false, reason: "revision", revision: kv?.modRevision ?? 0, kv, at: revision };
}
