/**
 * Runs the differential test's operations on one store through the public `etcd3` API
 * (its raw `kv`, `leaseClient` and `watchClient` RPC clients, which carry every option
 * etcd has), and records every response: the unary answers in order, and per watch
 * every response etcd sent for it.
 */

import type {
  Etcd3,
  ICompare,
  IDuplexStream,
  IRangeRequest,
  IRequestOp,
  IWatchRequest,
  IWatchResponse,
} from "etcd3";
import type { Compare, LeaseRef, Op, RequestOp, RevRef } from "./ops.js";

/** What one operation gave: etcd's answer, or the error the client threw. */
export type Outcome =
  | { readonly response: unknown }
  | { readonly error: string; readonly message: string }
  | { readonly noAnswer: string };

/** One watch created in the run, with everything its stream sent for it. */
export interface WatchRecord {
  readonly op: Extract<Op, { op: "watch" }>;
  /** Created with a start revision past the current one (or 0): served live from the start. */
  readonly live: boolean;
  created: IWatchResponse | undefined;
  readonly responses: IWatchResponse[];
  /** A cancel response (ours, a compaction's, or the create's refusal) has arrived. */
  canceled: boolean;
}

/** A lease ID no store has granted (etcd's IDs are random 63-bit numbers). */
export const UNKNOWN_LEASE = "1234567890123";

/** The value of a put over etcd's request size limit (1.5 MiB) and under gRPC's (2 MiB). */
const HUGE_VALUE = Buffer.alloc(1.6 * 1024 * 1024, 0x78);

const NO_ANSWER_MS = 3000;

/** One watch stream of the run and what it received. */
class WatchStream {
  readonly stream: IDuplexStream<IWatchRequest, IWatchResponse>;
  readonly #creates: WatchRecord[] = [];
  readonly #byId = new Map<string, WatchRecord>();
  /** Progress responses (watch ID -1), in order. */
  readonly progress: IWatchResponse[] = [];
  /** Responses for no watch this stream knows: none expected. */
  readonly unrouted: IWatchResponse[] = [];
  /** Errors and ends of the stream: none expected. */
  readonly troubles: string[] = [];

  constructor(stream: IDuplexStream<IWatchRequest, IWatchResponse>, onChange: () => void) {
    this.stream = stream;
    stream.on("data", (response) => {
      this.#route(response);
      onChange();
    });
    stream.on("error", (error) => {
      this.troubles.push(`error: ${error.message}`);
      onChange();
    });
    stream.on("end", () => {
      this.troubles.push("end");
      onChange();
    });
  }

  create(record: WatchRecord, request: IWatchRequest): void {
    this.#creates.push(record);
    this.stream.write(request);
  }

  /** The record answering to `watchId` now, if any. */
  active(record: WatchRecord): string | undefined {
    for (const [id, candidate] of this.#byId) if (candidate === record) return id;
    return undefined;
  }

  #route(response: IWatchResponse): void {
    const id = String(response.watch_id);
    if (response.created) {
      const record = this.#creates.shift();
      if (record === undefined) {
        this.unrouted.push(response);
        return;
      }
      record.created = response;
      if (response.canceled) record.canceled = true;
      else this.#byId.set(id, record);
      return;
    }
    const record = this.#byId.get(id);
    if (record !== undefined) {
      record.responses.push(response);
      if (response.canceled) {
        record.canceled = true;
        this.#byId.delete(id);
      }
      return;
    }
    if (id === "-1") this.progress.push(response);
    else this.unrouted.push(response);
  }
}

/** The operations' state on one store: its revision, leases, watches and streams. */
export class Session {
  readonly client: Etcd3;
  /** The store's revision as its last answer gave it. */
  revision = 1;
  /** Lease IDs granted in the run, in order (`granted[i]` refers to them). */
  readonly leases: string[] = [];
  readonly watches: WatchRecord[] = [];
  /** The run's watch streams by index, opened at first use. */
  readonly streams = new Map<number, WatchStream>();
  /** Bumped on every watch stream event: what {@link changes} waits on. */
  #changes = 0;
  readonly #waiters = new Set<() => void>();

  constructor(client: Etcd3) {
    this.client = client;
  }

  /** How many watch stream events have arrived so far. */
  get changes(): number {
    return this.#changes;
  }

  /** Resolves at the next watch stream event, or after `ms` (false then). */
  nextChange(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        resolve(false);
      }, ms);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.add(wake);
    });
  }

  #changed = (): void => {
    this.#changes += 1;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  };

  /** Waits until `done()` holds (checked at each stream event), at most `ms`. */
  async #until(done: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!done()) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await this.nextChange(left);
    }
    return true;
  }

  /** Runs `op`; never throws for what the store answers. */
  async apply(op: Op): Promise<Outcome> {
    try {
      return await this.#apply(op);
    } catch (error) {
      const e = error as Error;
      return { error: e.constructor.name, message: e.message };
    }
  }

  async #apply(op: Op): Promise<Outcome> {
    const kv = this.client.kv;
    const leases = this.client.leaseClient;
    switch (op.op) {
      case "put":
      case "delete":
      case "range":
      case "txn":
        return this.#answer(await this.#requestOp(op));
      case "hugePut":
        return this.#answer(await kv.put({ key: Buffer.from(op.key), value: HUGE_VALUE }));
      case "manyOpsTxn":
        return this.#answer(
          await kv.txn({
            success: Array.from({ length: op.count }, () => ({
              request_range: { key: Buffer.from("a") },
            })),
          }),
        );
      case "compact":
        return this.#answer(
          await kv.compact({ revision: this.#rev(op.revision), physical: op.physical }),
        );
      case "grant": {
        const response = await leases.leaseGrant({ TTL: op.ttl, ID: op.id });
        this.leases.push(String(response.ID));
        return this.#answer(response);
      }
      case "grantShort": {
        const granted = await leases.leaseGrant({ TTL: op.ttl, ID: 0 });
        const revoked = await leases.leaseRevoke({ ID: granted.ID });
        return this.#answer({ granted, revoked });
      }
      case "revoke":
        return this.#answer(await leases.leaseRevoke({ ID: this.#lease(op.lease) }));
      case "timeToLive":
        return this.#answer(
          await leases.leaseTimeToLive({ ID: this.#lease(op.lease), keys: op.keys }),
        );
      case "leases":
        return this.#answer(await leases.leaseLeases());
      case "keepAlive":
        return this.#keepAlive(this.#lease(op.lease));
      case "watch":
        return this.#watch(op);
      case "cancel":
        return this.#cancel(op.watch);
      case "progress":
        return this.#progress(op.stream);
    }
  }

  /** Records the store's revision from a top-level answer and passes it on. */
  #answer(response: unknown): Outcome {
    const header = (response as { header?: { revision?: string } }).header;
    if (header?.revision !== undefined) this.revision = Number(header.revision);
    return { response };
  }

  async #requestOp(op: RequestOp): Promise<unknown> {
    const kv = this.client.kv;
    switch (op.op) {
      case "put":
        return kv.put(this.#put(op));
      case "delete":
        return kv.deleteRange(this.#delete(op));
      case "range":
        return kv.range(this.#range(op));
      case "txn":
        return kv.txn(this.#txn(op));
    }
  }

  #rev(ref: RevRef): number {
    switch (ref.at) {
      case "latest":
        return 0;
      case "back":
        return this.revision - ref.by;
      case "ahead":
        return this.revision + ref.by;
    }
  }

  #lease(ref: LeaseRef): string {
    if (ref.lease === "none") return "0";
    if (ref.lease === "unknown" || this.leases.length === 0) return UNKNOWN_LEASE;
    return this.leases[ref.index % this.leases.length] as string;
  }

  #put(op: Extract<RequestOp, { op: "put" }>) {
    return {
      key: Buffer.from(op.key),
      value: Buffer.from(op.value),
      lease: this.#lease(op.lease),
      prev_kv: op.prevKv,
      ignore_value: op.ignoreValue,
      ignore_lease: op.ignoreLease,
    };
  }

  #delete(op: Extract<RequestOp, { op: "delete" }>) {
    return {
      key: Buffer.from(op.key),
      ...(op.rangeEnd === undefined ? {} : { range_end: Buffer.from(op.rangeEnd) }),
      prev_kv: op.prevKv,
    };
  }

  #range(op: Extract<RequestOp, { op: "range" }>): IRangeRequest {
    const optional = (name: string, ref: RevRef | undefined) =>
      ref === undefined ? {} : { [name]: Math.max(0, this.#rev(ref)) };
    return {
      key: Buffer.from(op.key),
      ...(op.rangeEnd === undefined ? {} : { range_end: Buffer.from(op.rangeEnd) }),
      limit: op.limit,
      revision: this.#rev(op.revision),
      sort_order: op.sortOrder,
      sort_target: op.sortTarget,
      keys_only: op.keysOnly,
      count_only: op.countOnly,
      ...optional("min_mod_revision", op.minMod),
      ...optional("max_mod_revision", op.maxMod),
      ...optional("min_create_revision", op.minCreate),
      ...optional("max_create_revision", op.maxCreate),
    };
  }

  #compare(c: Compare): ICompare {
    const operand =
      c.target === "Version"
        ? { version: c.version }
        : c.target === "Create"
          ? { create_revision: this.#rev(c.revision) }
          : c.target === "Mod"
            ? { mod_revision: this.#rev(c.revision) }
            : c.target === "Value"
              ? { value: Buffer.from(c.value) }
              : { lease: this.#lease(c.lease) };
    return {
      key: Buffer.from(c.key),
      ...(c.rangeEnd === undefined ? {} : { range_end: Buffer.from(c.rangeEnd) }),
      target: c.target,
      result: c.result,
      ...operand,
    };
  }

  #txn(op: Extract<RequestOp, { op: "txn" }>) {
    const requestOp = (o: RequestOp): IRequestOp => {
      switch (o.op) {
        case "put":
          return { request_put: this.#put(o) };
        case "delete":
          return { request_delete_range: this.#delete(o) };
        case "range":
          return { request_range: this.#range(o) };
        case "txn":
          return { request_txn: this.#txn(o) };
      }
    };
    return {
      compare: op.compare.map((c) => this.#compare(c)),
      success: op.success.map(requestOp),
      failure: op.failure.map(requestOp),
    };
  }

  async #keepAlive(id: string): Promise<Outcome> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    try {
      const answer = new Promise<Outcome>((resolve) => {
        const timer = setTimeout(() => resolve({ noAnswer: "keepalive" }), NO_ANSWER_MS);
        stream.on("data", (response) => {
          clearTimeout(timer);
          resolve(this.#answer(response));
        });
        stream.on("error", (error) => {
          clearTimeout(timer);
          resolve({ error: error.constructor.name, message: error.message });
        });
      });
      stream.write({ ID: id });
      return await answer;
    } finally {
      stream.on("error", () => {}); // the cancel below ends the call with CANCELLED
      stream.cancel();
    }
  }

  async #stream(index: number): Promise<WatchStream> {
    let stream = this.streams.get(index);
    if (stream === undefined) {
      stream = new WatchStream(await this.client.watchClient.watch(), this.#changed);
      this.streams.set(index, stream);
    }
    return stream;
  }

  async #watch(op: Extract<Op, { op: "watch" }>): Promise<Outcome> {
    const stream = await this.#stream(op.stream);
    // Never negative: in etcd 3.4.23 a watch from a negative revision makes the catch-up
    // pass that serves it (every catching-up watch of the store, batched by its 100 ms
    // loop) read no history at all, so its neighbours lose events too, depending on
    // timing. The twin models the watch alone (no history); the library never asks.
    const start = op.start.at === "latest" ? 0 : Math.max(1, this.#rev(op.start));
    const record: WatchRecord = {
      op,
      live: start === 0 || start > this.revision,
      created: undefined,
      responses: [],
      canceled: false,
    };
    this.watches.push(record);
    const filters = [
      ...(op.noPut ? ["Noput" as const] : []),
      ...(op.noDelete ? ["Nodelete" as const] : []),
    ];
    stream.create(record, {
      create_request: {
        key: Buffer.from(op.key),
        ...(op.rangeEnd === undefined ? {} : { range_end: Buffer.from(op.rangeEnd) }),
        start_revision: start,
        progress_notify: false,
        filters,
        prev_kv: op.prevKv,
      },
    });
    await this.#until(() => record.created !== undefined, NO_ANSWER_MS);
    return record.created === undefined
      ? { noAnswer: "watch create" }
      : { response: record.created };
  }

  async #cancel(index: number): Promise<Outcome> {
    const record = this.watches[index % Math.max(1, this.watches.length)];
    if (record === undefined) return { noAnswer: "no watch to cancel" };
    const stream = this.streams.get(record.op.stream) as WatchStream;
    const id = stream.active(record);
    if (id === undefined) return { noAnswer: "the watch is no longer active" };
    stream.stream.write({ cancel_request: { watch_id: id } });
    await this.#until(() => record.canceled, NO_ANSWER_MS);
    return record.canceled ? { response: record.responses.at(-1) } : { noAnswer: "cancel" };
  }

  async #progress(index: number): Promise<Outcome> {
    const stream = await this.#stream(index);
    const before = stream.progress.length;
    stream.stream.write({ progress_request: {} });
    await this.#until(() => stream.progress.length > before, NO_ANSWER_MS);
    const answer = stream.progress[before];
    return answer === undefined ? { noAnswer: "progress request" } : { response: answer };
  }

  /** A short fingerprint of what every watch has received: equal when caught up alike. */
  watchFingerprint(): string {
    const watches = this.watches.map(
      (w) =>
        `${w.created === undefined ? "-" : "c"}${w.responses.reduce((n, r) => n + r.events.length, 0)}${w.canceled ? "x" : ""}`,
    );
    const streams = [...this.streams].map(
      ([i, s]) => `${i}:${s.progress.length}/${s.unrouted.length}/${s.troubles.length}`,
    );
    return `${watches.join(",")}|${streams.join(",")}`;
  }

  /** Ends every stream of the session. */
  close(): void {
    for (const stream of this.streams.values()) {
      stream.stream.on("error", () => {});
      stream.stream.cancel();
    }
  }
}
