/**
 * What the differential test compares, and what it ignores:
 * - headers lose `cluster_id`, `member_id` and `raft_term` (they name the member, not
 *   the data); `revision` stays;
 * - lease IDs (fields `ID` and `lease`, and inside error messages) become `L1`, `L2`, …
 *   by first appearance in the run (etcd picks random IDs); `0` stays `0`;
 * - lists etcd leaves unordered are sorted: TimeToLive `keys`, the Leases list;
 * - a TimeToLive's remaining `TTL` may differ by 1 s (the clock ticks between stores);
 * - bytes become quoted text (`quote`), so a difference reads.
 * Watch responses are compared per watch (the order of different watches' responses on
 * one stream is timing): a watch served live must get the same responses (one per
 * revision, with its header revision); a catching-up watch the same events, however
 * they were batched (etcd's batches follow its 100 ms sync loop).
 */

import type { IWatchResponse } from "etcd3";
import { quote } from "./format.js";
import type { Outcome, Session, WatchRecord } from "./session.js";

/** Renames one store's lease IDs by first appearance. */
export class LeaseNames {
  readonly #names = new Map<string, string>();

  name(id: string): string {
    if (id === "0") return "0";
    let name = this.#names.get(id);
    if (name === undefined) {
      name = `L${this.#names.size + 1}`;
      this.#names.set(id, name);
    }
    return name;
  }

  /** `text` with every known lease ID replaced by its name. */
  inText(text: string): string {
    let out = text;
    for (const [id, name] of this.#names) out = out.split(id).join(name);
    return out;
  }
}

const DROPPED = new Set(["cluster_id", "member_id", "raft_term"]);

/** A JSON-like copy of an etcd3 answer, normalized as the module doc says. */
export function normalize(value: unknown, leases: LeaseNames): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return quote(value);
  if (Array.isArray(value)) return value.map((item) => normalize(item, leases));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (DROPPED.has(key)) continue;
    if (
      (key === "ID" || key === "lease") &&
      (typeof field === "string" || typeof field === "number")
    ) {
      out[key] = leases.name(String(field));
    } else {
      out[key] = normalize(field, leases);
    }
  }
  if (Array.isArray(out.keys)) out.keys = [...(out.keys as string[])].sort();
  if (Array.isArray(out.leases)) {
    out.leases = [...(out.leases as { ID: string }[])].sort((a, b) => a.ID.localeCompare(b.ID));
  }
  return out;
}

/** An operation's outcome, normalized. */
export function normalizeOutcome(outcome: Outcome, leases: LeaseNames): unknown {
  if ("error" in outcome) return { error: outcome.error, message: leases.inText(outcome.message) };
  if ("noAnswer" in outcome) return outcome;
  return { response: normalize(outcome.response, leases) };
}

/** Lets a TimeToLive's remaining TTL differ by 1 s: takes `a`'s when within 1 of `b`'s. */
export function allowTtlDrift(a: unknown, b: unknown): unknown {
  const ra = (a as { response?: { TTL?: string; grantedTTL?: string } }).response;
  const rb = (b as { response?: { TTL?: string; grantedTTL?: string } }).response;
  if (ra?.grantedTTL === undefined || rb?.grantedTTL === undefined) return b;
  if (Math.abs(Number(ra.TTL) - Number(rb.TTL)) > 1) return b;
  return { ...(b as object), response: { ...rb, TTL: ra.TTL } };
}

function events(response: IWatchResponse, leases: LeaseNames): unknown[] {
  return response.events.map((event) => normalize(event, leases));
}

/** What is compared of one watch (see the module doc). */
export function watchSummary(record: WatchRecord, leases: LeaseNames): unknown {
  const eventful = record.responses.filter((r) => r.events.length > 0);
  const others = record.responses
    .filter((r) => r.events.length === 0)
    .map((r) => normalize(r, leases));
  return {
    watch: record.live ? "live" : "catching up",
    created:
      record.created === undefined ? "no created response" : normalize(record.created, leases),
    ...(record.live
      ? {
          responses: eventful.map((r) => ({
            revision: r.header.revision,
            events: events(r, leases),
          })),
        }
      : { events: eventful.flatMap((r) => events(r, leases)) }),
    others,
  };
}

/** What is compared of the streams: progress answers, stray responses, errors. */
export function streamSummary(session: Session, leases: LeaseNames): unknown {
  return [...session.streams].map(([index, stream]) => ({
    stream: index,
    progress: stream.progress.map((r) => normalize(r, leases)),
    unrouted: stream.unrouted.map((r) => normalize(r, leases)),
    troubles: stream.troubles,
  }));
}

/** The first place where `a` and `b` differ, as a path and both sides; undefined if equal. */
export function firstDifference(
  a: unknown,
  b: unknown,
  path = "",
): { path: string; a: unknown; b: unknown } | undefined {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return { path, a, b };
  }
  if (Array.isArray(a) !== Array.isArray(b)) return { path, a, b };
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) return { path: `${path}[${i}]`, a: a[i], b: b[i] };
      const inner = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (inner !== undefined) return inner;
    }
    return undefined;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort();
  for (const key of keys) {
    const inner = firstDifference(ra[key], rb[key], `${path}.${key}`);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** `value` as JSON with sorted keys, for printing. */
export function stable(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    typeof field === "object" && field !== null && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : field,
  );
}
