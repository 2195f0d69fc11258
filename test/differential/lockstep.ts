/**
 * Runs one list of operations on two fresh stores in lockstep (each operation on the
 * first, then on the second) and throws a {@link Difference} at the first normalized
 * answer that differs; at the end compares the whole key space, the leases, every
 * watch's responses and the streams' other responses.
 *
 * Watch responses arrive on their own time (etcd serves catching-up watches from a
 * 100 ms loop), so before an operation that would cut them short (a compaction, a
 * cancel) and at the end, {@link settle} waits until both stores' watches have received
 * as much, then for a quiet spell: the first store must not be compared while it is
 * still delivering.
 */

import type { Etcd3 } from "etcd3";
import { formatOp } from "./format.js";
import {
  allowTtlDrift,
  firstDifference,
  LeaseNames,
  normalizeOutcome,
  stable,
  streamSummary,
  watchSummary,
} from "./normalize.js";
import type { Op } from "./ops.js";
import { Session } from "./session.js";

/** A fresh store for one run. */
export interface Store {
  /** What the store is, for messages: `etcd`, `memory`. */
  readonly label: string;
  readonly client: Etcd3;
  /** Releases the store (stops the member, closes the twin). */
  stop(): Promise<void>;
}

/** The first normalized difference between two stores. */
export class Difference extends Error {
  constructor(
    readonly step: string,
    readonly path: string,
    readonly labels: readonly [string, string],
    readonly a: unknown,
    readonly b: unknown,
  ) {
    super(
      [
        `${step}: the stores differ at ${path || "(top)"}`,
        `  ${labels[0]}: ${stable(a)}`,
        `  ${labels[1]}: ${stable(b)}`,
      ].join("\n"),
    );
    this.name = "Difference";
  }
}

function check(step: string, labels: readonly [string, string], a: unknown, b: unknown): void {
  const difference = firstDifference(a, b);
  if (difference === undefined) return;
  const where =
    difference.path === ""
      ? ""
      : ` (${labels[0]}: ${stable(difference.a)}, ${labels[1]}: ${stable(difference.b)})`;
  throw new Difference(step, `${difference.path}${where}`, labels, a, b);
}

/** Bound on waiting for the second store's watches to catch up with the first's. */
const CATCH_UP_MS = 3000;
/** How long nothing may arrive before the watches count as settled. */
const QUIET_MS = 120;
const FINAL_QUIET_MS = 300;

/** Waits until both sessions' watches have received alike, then for a quiet spell. */
export async function settle(a: Session, b: Session, quietMs = QUIET_MS): Promise<void> {
  const end = Date.now() + CATCH_UP_MS;
  for (;;) {
    while (a.watchFingerprint() !== b.watchFingerprint() && Date.now() < end) {
      await Promise.race([a.nextChange(end - Date.now()), b.nextChange(end - Date.now())]);
    }
    const before = a.changes + b.changes;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    if (a.changes + b.changes === before || Date.now() >= end) return;
  }
}

/** Runs `ops` on fresh stores from `makeA` and `makeB`; throws a {@link Difference}. */
export async function runInLockstep(
  ops: readonly Op[],
  makeA: () => Promise<Store>,
  makeB: () => Promise<Store>,
): Promise<void> {
  const [storeA, storeB] = await Promise.all([makeA(), makeB()]);
  const labels = [storeA.label, storeB.label] as const;
  const a = new Session(storeA.client);
  const b = new Session(storeB.client);
  const namesA = new LeaseNames();
  const namesB = new LeaseNames();
  try {
    for (const [i, op] of ops.entries()) {
      if (op.op === "compact" || op.op === "cancel") await settle(a, b);
      const outcomeA = normalizeOutcome(await a.apply(op), namesA);
      const outcomeB = normalizeOutcome(await b.apply(op), namesB);
      check(
        `op ${i} (${formatOp(op).split("\n")[0]})`,
        labels,
        outcomeA,
        allowTtlDrift(outcomeA, outcomeB),
      );
    }
    await settle(a, b, FINAL_QUIET_MS);
    const everything: Op = {
      op: "range",
      key: [0],
      rangeEnd: [0],
      limit: 0,
      revision: { at: "latest" },
      sortOrder: "None",
      sortTarget: "Key",
      keysOnly: false,
      countOnly: false,
      minMod: undefined,
      maxMod: undefined,
      minCreate: undefined,
      maxCreate: undefined,
    };
    for (const [step, op] of [
      ["final: every key", everything],
      ["final: leases", { op: "leases" }],
    ] as const) {
      check(
        step,
        labels,
        normalizeOutcome(await a.apply(op), namesA),
        normalizeOutcome(await b.apply(op), namesB),
      );
    }
    for (let i = 0; i < Math.max(a.watches.length, b.watches.length); i++) {
      const wa = a.watches[i];
      const wb = b.watches[i];
      const op = (wa ?? wb)?.op;
      check(
        `watch[${i}] (${op === undefined ? "?" : formatOp(op)})`,
        labels,
        wa === undefined ? undefined : watchSummary(wa, namesA),
        wb === undefined ? undefined : watchSummary(wb, namesB),
      );
    }
    check("watch streams", labels, streamSummary(a, namesA), streamSummary(b, namesB));
  } finally {
    try {
      a.close();
      b.close();
    } finally {
      await Promise.all([storeA.stop(), storeB.stop()]);
    }
  }
}
