/**
 * The chaos test of locks and elections: a shared history of tenures (lock holders or
 * leaders) and of the guarded writes each made, with the checks made over it.
 *
 * What it can observe, all in one process on one monotonic clock: when each contender's
 * `acquire` or `campaign` resolved, when its `signal` aborted (a listener), and for each
 * guarded write etcd acknowledged, its revision and when the answer arrived. It cannot
 * observe the revision at which a holder's key was deleted (etcd's lease expiry or a
 * revoke does that), nor the revision of a write whose answer was lost (ambiguous).
 */

/** What a lock handle and a leadership have in common, for the history. */
export interface Held {
  readonly key: string;
  readonly createRevision: number;
  readonly signal: AbortSignal;
  readonly lease: { readonly id: string; readonly state?: string };
}

/** One holder's tenure, from `acquire`/`campaign` resolving to its `signal` aborting. */
export interface Tenure {
  readonly who: string;
  readonly held: Held;
  /** ms on `performance.now()` when the acquisition resolved. */
  readonly heldAt: number;
  abortedAt?: number;
  reason?: string;
  /** Revisions of its guarded writes etcd acknowledged, in order. */
  readonly writes: number[];
  /** When the first acknowledged write's answer arrived. */
  firstWriteAt?: number;
  /** Writes not applied: `guard` refusals, ambiguous outcomes, other errors, by name. */
  readonly refused: Map<string, number>;
}

/**
 * Tenures and guarded writes of one lock or election, and the violations found as they
 * happen (a predecessor's signal not yet aborted) or at the end (overlap by revision).
 */
export class TenureHistory {
  readonly violations: string[] = [];
  readonly #tenures = new Map<number, Tenure>();
  readonly #origin: number;

  /** @param name names the lock or election in messages. */
  constructor(
    readonly name: string,
    origin: number = performance.now(),
  ) {
    this.#origin = origin;
  }

  /** The tenure whose key lived under lease `id`, if any. */
  ofLease(id: string): Tenure | undefined {
    return [...this.#tenures.values()].find((tenure) => tenure.held.lease.id === id);
  }

  /** Every tenure, by create revision. */
  get tenures(): Tenure[] {
    return [...this.#tenures.values()].sort(
      (a, b) => a.held.createRevision - b.held.createRevision,
    );
  }

  /** Records that `who` holds with `held`; a second holder of one term is a violation. */
  held(who: string, held: Held): Tenure {
    const tenure: Tenure = {
      who,
      held,
      heldAt: performance.now(),
      writes: [],
      refused: new Map(),
    };
    const same = this.#tenures.get(held.createRevision);
    if (same !== undefined) {
      this.violations.push(
        `${who} and ${same.who} both hold term (create revision) ${held.createRevision}`,
      );
    }
    this.#tenures.set(held.createRevision, tenure);
    const onAbort = (): void => {
      tenure.abortedAt = performance.now();
      const reason = held.signal.reason as { reason?: string } | undefined;
      tenure.reason = reason?.reason ?? String(held.signal.reason);
    };
    if (held.signal.aborted) onAbort();
    else held.signal.addEventListener("abort", onAbort, { once: true });
    return tenure;
  }

  /**
   * Records a guarded write etcd acknowledged at `revision`. At a tenure's first one,
   * every earlier holder's `signal` (read now, so its lease deadline is checked) must
   * have aborted: the successor has acted.
   */
  accepted(tenure: Tenure, revision: number): void {
    tenure.writes.push(revision);
    if (tenure.firstWriteAt !== undefined) return;
    tenure.firstWriteAt = performance.now();
    for (const earlier of this.#tenures.values()) {
      if (earlier.held.createRevision >= tenure.held.createRevision) continue;
      if (!earlier.held.signal.aborted) {
        this.violations.push(
          `${earlier.who}'s signal (term ${earlier.held.createRevision}) had not aborted when ${tenure.who}'s first guarded write (term ${tenure.held.createRevision}) was acknowledged at revision ${revision}`,
        );
      }
    }
  }

  /** Records a write that was not applied (or may not have been), by kind. */
  refused(tenure: Tenure, kind: string): void {
    tenure.refused.set(kind, (tenure.refused.get(kind) ?? 0) + 1);
  }

  /**
   * The checks over the whole history: by etcd revision, the acknowledged guarded writes
   * of the holders come in the order of their terms, so no two tenures overlap (each
   * tenure's writes span `[first, last]`, and those spans are disjoint and ordered).
   */
  check(): string[] {
    const writes = this.tenures
      .flatMap((tenure) => tenure.writes.map((revision) => ({ revision, tenure })))
      .sort((a, b) => a.revision - b.revision);
    const overlaps: string[] = [];
    for (let i = 1; i < writes.length; i++) {
      const before = writes[i - 1]!;
      const after = writes[i]!;
      if (after.tenure.held.createRevision < before.tenure.held.createRevision) {
        overlaps.push(
          `${after.tenure.who} (term ${after.tenure.held.createRevision}) wrote at revision ${after.revision}, after ${before.tenure.who} (term ${before.tenure.held.createRevision}) wrote at ${before.revision}: their tenures overlap`,
        );
      }
    }
    return [...this.violations, ...overlaps];
  }

  /** Writes acknowledged, tenures with at least one, and the shortest lag (ms) from a predecessor's abort to its successor's first acknowledged write. */
  summary(): string {
    const tenures = this.tenures;
    const writes = tenures.reduce((n, tenure) => n + tenure.writes.length, 0);
    const writing = tenures.filter((tenure) => tenure.writes.length > 0);
    const lags = writing.flatMap((tenure, i) => {
      const before = i === 0 ? undefined : writing[i - 1];
      return before?.abortedAt === undefined || tenure.firstWriteAt === undefined
        ? []
        : [tenure.firstWriteAt - before.abortedAt];
    });
    const reasons = new Map<string, number>();
    for (const tenure of tenures) {
      reasons.set(tenure.reason ?? "held", (reasons.get(tenure.reason ?? "held") ?? 0) + 1);
      for (const [kind, n] of tenure.refused) reasons.set(kind, (reasons.get(kind) ?? 0) + n);
    }
    const ended = [...reasons].map(([reason, n]) => `${reason} ${n}`).join(", ");
    const lag = lags.length === 0 ? "-" : `${Math.min(...lags).toFixed(1)} ms`;
    return `${tenures.length} tenures (${writing.length} wrote), ${writes} acknowledged guarded writes; ends and refusals: ${ended}; shortest lag from a predecessor's abort to the next holder's first write: ${lag}`;
  }

  /** One line per tenure, times in ms since the origin, for a failure's report. */
  format(): string {
    const ms = (at: number | undefined): string =>
      at === undefined ? "-" : (at - this.#origin).toFixed(0);
    return this.tenures
      .map(
        (tenure) =>
          `    term ${tenure.held.createRevision} ${tenure.who}: held ${ms(tenure.heldAt)}, first write ${ms(tenure.firstWriteAt)}, aborted ${ms(tenure.abortedAt)} (${tenure.reason ?? "-"}), writes @${tenure.writes.join(",") || "-"}${tenure.refused.size === 0 ? "" : `, refused ${[...tenure.refused].map(([k, n]) => `${k} ${n}`).join(" ")}`}`,
      )
      .join("\n");
  }
}
