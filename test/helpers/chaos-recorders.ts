/**
 * The chaos test's watchers: each one consumed by a background loop that records every
 * value with its `watcher.revision`, checks the ordering invariants as values arrive,
 * and can wait (bounded) until what it holds is etcd's final state.
 */

import { type KeyUpdate, MemoryValue, type RangeSnapshot, type Watcher } from "../../src/index.js";
import { deadline } from "./faults.js";

/** etcd's state at the end of a run, read by a linearizable range read. */
export interface FinalState {
  /** The store revision of the read. */
  readonly revision: number;
  /** Every present key of the range, with its value and mod revision. */
  readonly kvs: ReadonlyMap<string, { readonly value: string; readonly modRevision: number }>;
  /**
   * For a key absent at the end: a revision its last deletion is known to be at or
   * after (the last acknowledged write that changed it), 0 if none is known.
   */
  deletedNoEarlierThan(key: string): number;
}

/** What the test needs of a recorder, whatever its watcher's type. */
export interface WatcherUnderTest {
  readonly name: string;
  readonly violations: readonly string[];
  converge(expected: FinalState, ms: number): Promise<string | undefined>;
  summary(): string;
  close(): Promise<void>;
}

/** A watcher under test and its recording loop. */
export abstract class Recorder<V> implements WatcherUnderTest {
  /** Invariants broken so far, in order, each a sentence. */
  readonly violations: string[] = [];
  /** Values returned so far. */
  count = 0;
  readonly #recorded = new MemoryValue(0);
  readonly #watcher: Watcher<V>;
  readonly #loop: Promise<void>;

  constructor(
    readonly name: string,
    watcher: Watcher<V>,
  ) {
    this.#watcher = watcher;
    this.#loop = (async () => {
      try {
        for await (const value of watcher) {
          this.count += 1;
          this.record(value, watcher.revision);
          this.#recorded.set(this.count);
        }
      } catch (error) {
        this.violations.push(`get() rejected: ${String(error)}`);
        this.#recorded.set(-1);
      }
    })();
  }

  /** Checks and applies one value returned by `get()`. */
  protected abstract record(value: V, revision: number | undefined): void;

  /** Why what the watcher holds is not `expected`; undefined when it is. */
  abstract mismatch(expected: FinalState): string | undefined;

  /** A one-line summary of what the watcher holds. */
  abstract summary(): string;

  /**
   * Waits until the watcher holds `expected` or `ms` pass (awaiting recorded values, no
   * polling). Resolves with the mismatch left at the deadline, or undefined.
   */
  async converge(expected: FinalState, ms: number): Promise<string | undefined> {
    const signal = deadline(ms, `${this.name} to reach the final state`);
    const recorded = this.#recorded.watch();
    try {
      for (;;) {
        const mismatch = this.mismatch(expected);
        if (mismatch === undefined) return undefined;
        try {
          await recorded.get({ signal });
        } catch {
          return this.mismatch(expected);
        }
      }
    } finally {
      recorded.close();
    }
  }

  /** Ends the loop (a `close()` ends `for await` without an error). */
  async close(): Promise<void> {
    this.#watcher.close();
    await this.#loop;
  }

  protected violate(what: string): void {
    if (this.violations.length < 20) this.violations.push(`after ${this.count} values: ${what}`);
  }
}

/** An `EtcdValue` watcher of one key of the range. */
export class KeyRecorder extends Recorder<string | undefined> {
  value: string | undefined;
  revision: number | undefined;

  constructor(
    name: string,
    readonly key: string,
    watcher: Watcher<string | undefined>,
  ) {
    super(name, watcher);
  }

  protected record(value: string | undefined, revision: number | undefined): void {
    if (revision === undefined) this.violate("watcher.revision is undefined after a get()");
    else if (this.revision !== undefined && revision <= this.revision) {
      this.violate(`revision ${revision} returned after ${this.revision} (not newer)`);
    }
    this.value = value;
    this.revision = revision;
  }

  mismatch(expected: FinalState): string | undefined {
    const want = expected.kvs.get(this.key);
    const got = `${JSON.stringify(this.value)} at ${this.revision}`;
    if (want !== undefined) {
      if (this.value !== want.value || this.revision !== want.modRevision) {
        return `holds ${got}, etcd has ${JSON.stringify(want.value)} at ${want.modRevision}`;
      }
      return undefined;
    }
    const floor = expected.deletedNoEarlierThan(this.key);
    const revision = this.revision ?? 0;
    if (this.value !== undefined || revision < floor || revision > expected.revision) {
      return `holds ${got}, etcd has the key absent (deleted at a revision in [${floor}, ${expected.revision}])`;
    }
    return undefined;
  }

  summary(): string {
    return `${this.count} values, holds ${JSON.stringify(this.value)} at ${this.revision}`;
  }
}

/** An `EtcdRangeValue.watch()` watcher: the state is rebuilt from the per-key updates. */
export class RangeKeyRecorder extends Recorder<KeyUpdate<string>> {
  readonly state = new Map<string, { value: string; revision: number }>();
  /** The last revision returned per key, deletions included. */
  readonly #lastByKey = new Map<string, number>();
  revision: number | undefined;

  protected record(update: KeyUpdate<string>, revision: number | undefined): void {
    const { key, value } = update;
    if (revision === undefined) this.violate("watcher.revision is undefined after a get()");
    else {
      if (this.revision !== undefined && revision < this.revision) {
        this.violate(`watcher.revision went back from ${this.revision} to ${revision}`);
      }
      if (update.revision > revision) {
        this.violate(`${key}: update at ${update.revision} above watcher.revision ${revision}`);
      }
      this.revision = revision;
    }
    const last = this.#lastByKey.get(key);
    if (last !== undefined && update.revision <= last) {
      this.violate(`${key}: update at ${update.revision} returned after one at ${last}`);
    }
    this.#lastByKey.set(key, update.revision);
    if (value === undefined) this.state.delete(key);
    else this.state.set(key, { value, revision: update.revision });
  }

  mismatch(expected: FinalState): string | undefined {
    const wrong: string[] = [];
    for (const [key, want] of expected.kvs) {
      const got = this.state.get(key);
      if (got === undefined) wrong.push(`${key} missing (etcd: ${want.value}@${want.modRevision})`);
      else if (got.value !== want.value || got.revision !== want.modRevision) {
        wrong.push(`${key} ${got.value}@${got.revision} (etcd: ${want.value}@${want.modRevision})`);
      }
    }
    for (const [key, got] of this.state) {
      if (!expected.kvs.has(key)) wrong.push(`${key} ${got.value}@${got.revision} (etcd: absent)`);
    }
    // watcher.revision is the revision of the last update returned: etcd's final revision,
    // unless the last changes were keys created and deleted between two gets (or within
    // one catch-up batch), which a per-key watcher never reports (DESIGN.md: latest value
    // per key; a key it never returned is not reported deleted). Then it is below, but
    // never below a present key's mod revision (the state check above already holds).
    const newestPresent = Math.max(0, ...[...expected.kvs.values()].map((kv) => kv.modRevision));
    if (
      this.revision === undefined ||
      this.revision > expected.revision ||
      this.revision < newestPresent
    ) {
      wrong.push(
        `watcher.revision ${this.revision} (etcd: ${expected.revision}, newest present key at ${newestPresent})`,
      );
    }
    return wrong.length === 0 ? undefined : wrong.slice(0, 8).join("; ");
  }

  summary(): string {
    return `${this.count} updates, ${this.state.size} keys, revision ${this.revision}`;
  }
}

/** An `EtcdRangeValue.snapshots()` watcher. */
export class SnapshotRecorder extends Recorder<RangeSnapshot<string>> {
  snapshot: RangeSnapshot<string> | undefined;

  protected record(snapshot: RangeSnapshot<string>, revision: number | undefined): void {
    if (revision !== snapshot.revision) {
      this.violate(`watcher.revision ${revision} is not the snapshot's ${snapshot.revision}`);
    }
    const previous = this.snapshot?.revision;
    if (previous !== undefined && snapshot.revision <= previous) {
      this.violate(`snapshot at ${snapshot.revision} returned after one at ${previous}`);
    }
    this.snapshot = snapshot;
  }

  mismatch(expected: FinalState): string | undefined {
    const snapshot = this.snapshot;
    if (snapshot === undefined) return "no snapshot yet";
    const wrong: string[] = [];
    for (const [key, want] of expected.kvs) {
      const got = snapshot.entries.get(key);
      if (got !== want.value) wrong.push(`${key} ${got} (etcd: ${want.value})`);
    }
    for (const [key, got] of snapshot.entries) {
      if (!expected.kvs.has(key)) wrong.push(`${key} ${got} (etcd: absent)`);
    }
    if (snapshot.revision !== expected.revision) {
      wrong.push(`revision ${snapshot.revision} (etcd: ${expected.revision})`);
    }
    return wrong.length === 0 ? undefined : wrong.slice(0, 8).join("; ");
  }

  summary(): string {
    const snapshot = this.snapshot;
    return `${this.count} snapshots, last ${snapshot?.entries.size} keys at ${snapshot?.revision}`;
  }
}
