/** Readable text for the differential test's operations and values: what a failure prints. */

import type { Bytes, Compare, LeaseRef, Op, RequestOp, RevRef } from "./ops.js";

/** Bytes as a quoted string: printable ASCII as is, every other byte as `\xNN`. */
export function quote(bytes: Bytes | Uint8Array): string {
  let text = "";
  for (const byte of bytes) {
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c) {
      text += String.fromCharCode(byte);
    } else {
      text += `\\x${byte.toString(16).padStart(2, "0")}`;
    }
  }
  return `"${text}"`;
}

function rev(ref: RevRef): string {
  switch (ref.at) {
    case "latest":
      return "latest";
    case "back":
      return ref.by === 0 ? "current" : `current-${ref.by}`;
    case "ahead":
      return `current+${ref.by}`;
  }
}

function lease(ref: LeaseRef): string {
  switch (ref.lease) {
    case "none":
      return "none";
    case "unknown":
      return "unknown";
    case "granted":
      return `granted[${ref.index}]`;
  }
}

function range(key: Bytes, rangeEnd: Bytes | undefined): string {
  return rangeEnd === undefined ? quote(key) : `[${quote(key)}, ${quote(rangeEnd)})`;
}

function flags(entries: Record<string, boolean>): string {
  return Object.entries(entries)
    .filter(([, on]) => on)
    .map(([name]) => ` ${name}`)
    .join("");
}

function compare(c: Compare): string {
  const operand =
    c.target === "Version"
      ? String(c.version)
      : c.target === "Value"
        ? quote(c.value)
        : c.target === "Lease"
          ? lease(c.lease)
          : rev(c.revision);
  const op = { Equal: "==", Greater: ">", Less: "<", NotEqual: "!=" }[c.result];
  return `${c.target.toLowerCase()}(${range(c.key, c.rangeEnd)}) ${op} ${operand}`;
}

/** One operation on one line (a transaction spans several, indented by `indent`). */
export function formatOp(op: Op | RequestOp, indent = ""): string {
  switch (op.op) {
    case "put":
      return `${indent}put ${quote(op.key)} = ${quote(op.value)}${op.lease.lease === "none" ? "" : ` lease=${lease(op.lease)}`}${flags({ prev_kv: op.prevKv, ignore_value: op.ignoreValue, ignore_lease: op.ignoreLease })}`;
    case "hugePut":
      return `${indent}put ${quote(op.key)} = <1.6 MiB>`;
    case "delete":
      return `${indent}delete ${range(op.key, op.rangeEnd)}${flags({ prev_kv: op.prevKv })}`;
    case "range": {
      const options = [
        op.limit > 0 ? `limit=${op.limit}` : "",
        op.revision.at === "latest" ? "" : `rev=${rev(op.revision)}`,
        op.sortOrder === "None" && op.sortTarget === "Key"
          ? ""
          : `sort=${op.sortTarget}/${op.sortOrder}`,
        op.keysOnly ? "keys_only" : "",
        op.countOnly ? "count_only" : "",
        op.minMod === undefined ? "" : `min_mod=${rev(op.minMod)}`,
        op.maxMod === undefined ? "" : `max_mod=${rev(op.maxMod)}`,
        op.minCreate === undefined ? "" : `min_create=${rev(op.minCreate)}`,
        op.maxCreate === undefined ? "" : `max_create=${rev(op.maxCreate)}`,
      ].filter((text) => text !== "");
      return `${indent}range ${range(op.key, op.rangeEnd)}${options.map((o) => ` ${o}`).join("")}`;
    }
    case "txn": {
      const inner = `${indent}    `;
      const lines = [
        `${indent}txn if ${op.compare.length === 0 ? "(always)" : op.compare.map(compare).join(" && ")}`,
        `${indent}  then:`,
        ...op.success.map((o) => formatOp(o, inner)),
        `${indent}  else:`,
        ...op.failure.map((o) => formatOp(o, inner)),
      ];
      return lines.join("\n");
    }
    case "manyOpsTxn":
      return `${indent}txn of ${op.count} ranges`;
    case "compact":
      return `${indent}compact ${rev(op.revision)}${flags({ physical: op.physical })}`;
    case "grant":
      return `${indent}grant ttl=${op.ttl}${op.id === 0 ? "" : ` id=${op.id}`}`;
    case "grantShort":
      return `${indent}grant ttl=${op.ttl}, then revoke it`;
    case "revoke":
      return `${indent}revoke ${lease(op.lease)}`;
    case "keepAlive":
      return `${indent}keepalive once ${lease(op.lease)}`;
    case "timeToLive":
      return `${indent}time-to-live ${lease(op.lease)}${flags({ keys: op.keys })}`;
    case "leases":
      return `${indent}leases`;
    case "watch":
      return `${indent}watch#stream${op.stream} ${range(op.key, op.rangeEnd)} from ${rev(op.start)}${flags({ noput: op.noPut, nodelete: op.noDelete, prev_kv: op.prevKv })}`;
    case "cancel":
      return `${indent}cancel watch[${op.watch}]`;
    case "progress":
      return `${indent}progress request on stream${op.stream}`;
  }
}

/** A numbered list of operations, one per line. */
export function formatOps(ops: readonly Op[]): string {
  return ops
    .map((op, i) =>
      formatOp(op)
        .split("\n")
        .map((line, j) => `${j === 0 ? `${String(i).padStart(3)}:` : "    "} ${line}`)
        .join("\n"),
    )
    .join("\n");
}
