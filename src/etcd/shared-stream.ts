/**
 * One gRPC watch stream carrying many etcd watches, as etcd's own clients multiplex
 * them: creates are sent without waiting for each other's answer (etcd answers them in
 * order), responses are routed by watch id, and a stream that breaks, stalls or is
 * cancelled ends every watch on it, each of which then resumes from its own revision.
 * Per watch stay: its start revision, compaction, and a server-side cancel (permission
 * denied), which ends that watch only.
 *
 * @module
 */

import { ClientClosedError, castGrpcError, EtcdWatchStreamEnded, type IWatchResponse } from "etcd3";
import { CompactedError, RequestTimeoutError } from "../event/errors.js";
import { cancelReasonError } from "./classify.js";
import type { KeyRange } from "./key-range.js";
import type { EtcdPort, OpenedWatchStream, WatchStreamPort } from "./port.js";
import { withIdleTimeout, withSoftTimeout } from "./soft-timeout.js";
import { StallCheck } from "./stall-check.js";
import type { StallPatience } from "./stall-clock.js";
import { progressFrom } from "./transport-activity.js";

/**
 * How long, in ms, a stream emptied of its last watch stays open for the next one, when
 * its hub asks for it (see `WatchHub`): a lock or election line creates and cancels
 * watches in quick succession, and opening a gRPC call for each costs more than the
 * watch.
 */
export const LINGER_MS = 1000;

/** Stall timing of a stream, in ms. */
export interface StallTiming {
  /** Silence after which a progress request checks that the stream is alive. */
  readonly idleCheckMs: number;
  /**
   * Time the server has to answer a create or a progress request, extended while bytes
   * arrive from the member, and scaled by the patience (see `stall-clock.ts`).
   */
  readonly answerTimeoutMs: number;
}

/** Why a watch ended. */
export type StreamEnd =
  /** The transport failed or the server ended the stream: reconnect and resume. */
  | { readonly reason: "broken"; readonly error: unknown }
  /** Neither events nor an answer to a progress request arrived in time. */
  | { readonly reason: "stalled"; readonly error: RequestTimeoutError }
  /** The start revision was compacted: read again. */
  | { readonly reason: "compacted"; readonly compactRevision: number }
  /** The server cancelled the watch (e.g. permission denied), or the client was closed. */
  | { readonly reason: "cancelled"; readonly error: Error }
  /** Ended from our side: `close()` or a consumer's decision (e.g. data loss). */
  | { readonly reason: "closed" };

/** One watch to create on a stream. */
export interface WatchSpec {
  readonly range: KeyRange;
  /** First revision to deliver. */
  readonly startRevision: number;
  /**
   * Receives every response of this watch after its create: a whole revision's events
   * at a time (fragments are joined first), or a progress notification without events.
   */
  onResponse(response: IWatchResponse, watch: StreamWatch): void;
  /**
   * Called once when the watch ends, with why (as {@link StreamWatch.ended} resolves),
   * synchronously: from `close()`, or from the stream's handler of what ended it.
   */
  onEnd?(end: StreamEnd, watch: StreamWatch): void;
}

/**
 * A created etcd watch on a shared stream. Await {@link StreamWatch.ended}; `close()`
 * when done (cancels this watch only). Exactly one `StreamEnd` is reported.
 */
export class StreamWatch {
  /** The store revision when etcd created the watch (its answer's header). */
  createdRevision = 0;
  /** The id of the cluster that created the watch (from its answer's header). */
  clusterId = "";
  /** Internal: etcd's id of this watch, once created. */
  id: string | undefined;
  /** Internal: fragments of a response split by etcd, joined at the last one. */
  fragments: IWatchResponse[] | undefined;
  readonly #stream: SharedStream;
  /** Why the watch ended, once it has. */
  #end: StreamEnd | undefined;
  /** Made when {@link ended} is first asked for (most watches are told by `spec.onEnd`). */
  #ended: Promise<StreamEnd> | undefined;
  #finish: ((end: StreamEnd) => void) | undefined;

  constructor(
    stream: SharedStream,
    readonly spec: WatchSpec,
  ) {
    this.#stream = stream;
  }

  /** Resolves once, with why the watch ended. */
  get ended(): Promise<StreamEnd> {
    if (this.#ended === undefined) {
      const end = this.#end;
      this.#ended =
        end !== undefined
          ? Promise.resolve(end)
          : new Promise((resolve) => {
              this.#finish = resolve;
            });
    }
    return this.#ended;
  }

  /** Why the watch ended; undefined while it has not. */
  get endedWith(): StreamEnd | undefined {
    return this.#end;
  }

  /** The member the stream runs on (see `OpenedWatchStream.member`). */
  get member(): string | undefined {
    return this.#stream.member;
  }

  /** The gRPC call of the shared stream, for test seams (`cancel()` breaks every watch on it). */
  get call(): WatchStreamPort {
    return this.#stream.call;
  }

  /** Cancels this watch; `ended` resolves with `end` (default `closed`). Idempotent. */
  close(end: StreamEnd = CLOSED): void {
    if (!this.end(end)) return;
    this.#stream.detach(this);
  }

  /** Internal: reports the end; false when it had ended already. */
  end(end: StreamEnd): boolean {
    if (this.#end !== undefined) return false;
    this.#end = end;
    this.#finish?.(end);
    this.#finish = undefined;
    this.spec.onEnd?.(end, this);
    return true;
  }
}

/** The end of a watch closed from our side. */
const CLOSED: StreamEnd = Object.freeze({ reason: "closed" });

/** A create sent and not answered yet. */
interface PendingCreate {
  readonly watch: StreamWatch;
  readonly resolve: (watch: StreamWatch) => void;
  readonly reject: (error: unknown) => void;
  /** Closed or timed out before its answer: cancel it once etcd names its id. */
  abandoned: boolean;
}

/**
 * How a stream tells its hub that it takes no more watches: called once the stream
 * takes no more watches (ended, or retired after a refused or unanswered create);
 * `emptied` when it ended because its last watch closed.
 */
export type StreamGone = (stream: SharedStream, emptied: boolean) => void;

/**
 * One gRPC `Watch` call and the watches on it. Made by {@link SharedStream.open}; ends
 * itself when its last watch closes (at once, or after lingering: see {@link LINGER_MS}),
 * or when it breaks, stalls or the client closes.
 */
export class SharedStream {
  readonly member: string | undefined;
  readonly call: WatchStreamPort;
  readonly #port: EtcdPort;
  /** The answer timeout, scaled by the patience when the stream opened. */
  readonly #answerTimeoutMs: number;
  readonly #patience: StallPatience;
  #heard = false;
  readonly #onGone: StreamGone;
  /** Whether an emptied stream waits {@link LINGER_MS} for a new watch before it ends. */
  readonly #lingers: boolean;
  #lingerTimer: NodeJS.Timeout | undefined;
  /** The cluster id of the last create answered. */
  #clusterId = "";
  /** Creates in the order sent: etcd answers them in that order. */
  readonly #pending: PendingCreate[] = [];
  readonly #active = new Map<string, StreamWatch>();
  /** Watches not closed: active ones and pending creates not abandoned. */
  #watching = 0;
  #retired = false;
  #ended = false;
  readonly #check: StallCheck;

  private constructor(
    port: EtcdPort,
    opened: OpenedWatchStream,
    timing: StallTiming,
    patience: StallPatience,
    onGone: StreamGone,
    lingers: boolean,
  ) {
    this.#port = port;
    this.call = opened.stream;
    this.member = opened.member;
    this.#patience = patience;
    this.#answerTimeoutMs = patience.scale(timing.answerTimeoutMs);
    this.#onGone = onGone;
    this.#lingers = lingers;
    this.call.on("data", (response) => this.#onData(response));
    this.call.on("error", (error) =>
      this.#endAll({ reason: "broken", error: castGrpcError(error) }),
    );
    this.call.on("end", () =>
      this.#endAll({ reason: "broken", error: new EtcdWatchStreamEnded() }),
    );
    const answerTimeoutMs = this.#answerTimeoutMs;
    // The stall clock's own check of bytes from the member (each create has another).
    const progress = progressFrom(opened.member);
    const clock = { idleCheckMs: timing.idleCheckMs, answerTimeoutMs, progress };
    this.#check = new StallCheck(clock, {
      requestProgress: () => this.call.write({ progress_request: {} }),
      stalled: () => {
        this.#suspectMember();
        this.#patience.stalled();
        const error = new RequestTimeoutError("an etcd watch progress request", answerTimeoutMs);
        this.#endAll({ reason: "stalled", error });
      },
      beforeTick: () => {
        if (this.#port.isClosed?.() !== true) return false;
        this.#endAll({ reason: "cancelled", error: new ClientClosedError("Watch") });
        return true;
      },
    });
  }

  /**
   * Opens a stream on a member chosen by the port. Rejects with a `RequestTimeoutError`
   * when it does not open within `timing.answerTimeoutMs`, or with what the transport
   * failed with. `onGone` is called once the stream takes no more watches (ended, or
   * retired after a refused or unanswered create). `patience` is shared by the
   * successive streams of one hub: after a stall the next stream waits longer. With
   * `lingers`, a stream emptied of its last watch stays open {@link LINGER_MS} for the
   * next one (unless the client was closed); the timer does not hold the process, the
   * open call does, for that long at most.
   */
  static async open(
    port: EtcdPort,
    timing: StallTiming,
    patience: StallPatience,
    onGone: StreamGone,
    lingers = false,
  ): Promise<SharedStream> {
    const opening = port.openWatchStream();
    let opened: OpenedWatchStream;
    try {
      opened = await withSoftTimeout(
        opening,
        timing.answerTimeoutMs,
        "opening an etcd watch stream",
      );
    } catch (error) {
      // A stream that opens after all would hold the process open: end it.
      opening.then(({ stream }) => endCall(stream)).catch(() => {});
      throw error;
    }
    return new SharedStream(port, opened, timing, patience, onGone, lingers);
  }

  /** True while new watches may be created on this stream. */
  get usable(): boolean {
    return !this.#ended && !this.#retired;
  }

  /**
   * Creates a watch and resolves once etcd confirmed it. Rejects with
   * {@link CompactedError} when the start revision is compacted, with the cancel reason
   * when etcd refuses the watch, with a `RequestTimeoutError` when the member does not
   * answer in time (the member is then suspected and the stream takes no new watches),
   * or with what the stream failed with.
   */
  attach(spec: WatchSpec): Promise<StreamWatch> {
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    const watch = new StreamWatch(this, spec);
    let entry!: PendingCreate;
    const created = new Promise<StreamWatch>((resolve, reject) => {
      entry = { watch, resolve, reject, abandoned: false };
    });
    this.#pending.push(entry);
    this.#watching += 1;
    const { range, startRevision } = spec;
    this.call.write({
      create_request: {
        key: range.start,
        ...(range.end === undefined ? {} : { range_end: range.end }),
        start_revision: startRevision,
        progress_notify: true,
        fragment: true,
      },
    });
    // A check of its own: a progress check answers whether bytes arrived since it was
    // last asked, so creates sharing one (or sharing the stall clock's) would see no
    // progress but the first asking, and be abandoned while answers keep arriving.
    const progress = progressFrom(this.member);
    return withIdleTimeout(
      created,
      this.#answerTimeoutMs,
      "creating an etcd watch",
      progress,
    ).catch((error: unknown) => {
      if (error instanceof RequestTimeoutError && !entry.abandoned) {
        this.#abandon(entry);
        this.#suspectMember();
        this.#patience.stalled();
        this.#retire();
      }
      throw error;
    });
  }

  /** Internal: a watch closed from our side; cancels it on the server. */
  detach(watch: StreamWatch): void {
    if (watch.id !== undefined) {
      if (this.#active.get(watch.id) !== watch) return;
      this.#active.delete(watch.id);
      this.#release();
      if (!this.#ended) this.call.write({ cancel_request: { watch_id: watch.id } });
      return;
    }
    const entry = this.#pending.find((pending) => pending.watch === watch);
    if (entry !== undefined && !entry.abandoned) this.#abandon(entry);
  }

  #abandon(entry: PendingCreate): void {
    entry.abandoned = true;
    this.#release();
  }

  /** One watch fewer; the stream ends with its last one, at once or after lingering. */
  #release(): void {
    this.#watching -= 1;
    if (this.#watching !== 0) return;
    if (!this.#lingers || this.#retired || this.#port.isClosed?.() === true) {
      this.#endAll({ reason: "closed" });
      return;
    }
    this.#lingerTimer = setTimeout(() => {
      if (this.#watching === 0) this.#endAll({ reason: "closed" });
    }, LINGER_MS);
    this.#lingerTimer.unref();
  }

  /** After a refused or unanswered create: no new watches here (ETCD-NOTES trap 6). */
  #retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.#onGone(this, false);
    if (this.#watching === 0) this.#endAll({ reason: "closed" }); // a lingering stream
  }

  #suspectMember(): void {
    if (this.member !== undefined) this.#port.suspect(this.member);
  }

  #onData(response: IWatchResponse): void {
    if (this.#ended) return;
    this.#check.activity();
    if (response.created) {
      this.#onCreated(response);
      return;
    }
    if (!this.#heard) {
      this.#heard = true;
      this.#patience.heard(); // the link works: the next stream gets the base timeout
    }
    // An answer to a progress request (watch id -1) is only a sign of life: etcd 3.4
    // stamps it with the store's revision, not any watch's.
    if (response.watch_id === "-1") return;
    const watch = this.#active.get(response.watch_id);
    if (watch === undefined) return; // cancelled by us; late
    if (response.canceled) {
      this.#active.delete(response.watch_id);
      const error = cancellation(response);
      watch.end(
        error instanceof CompactedError
          ? { reason: "compacted", compactRevision: error.compactRevision }
          : { reason: "cancelled", error },
      );
      this.#release();
      return;
    }
    if (response.fragment) {
      watch.fragments ??= [];
      watch.fragments.push(response);
      return;
    }
    if (watch.fragments !== undefined) {
      watch.fragments.push(response);
      const events = watch.fragments.flatMap((part) => part.events);
      watch.fragments = undefined;
      response = { ...response, events };
    }
    watch.spec.onResponse(response, watch);
  }

  #onCreated(response: IWatchResponse): void {
    const entry = this.#pending.shift();
    if (entry === undefined) return;
    if (response.canceled) {
      // Refused (permission denied, compacted): that watch only. A refused create can
      // wedge the stream for later ones (trap 6): new watches go to a new stream.
      if (!entry.abandoned) {
        this.#release();
        entry.reject(cancellation(response));
      }
      if (Number(response.compact_revision) === 0) this.#retire();
      return;
    }
    const id = response.watch_id;
    if (entry.abandoned) {
      this.call.write({ cancel_request: { watch_id: id } });
      return;
    }
    const { watch } = entry;
    watch.id = id;
    watch.createdRevision = Number(response.header.revision);
    // One string per stream, not one per watch (each answer brings a new copy).
    if (response.header.cluster_id !== this.#clusterId)
      this.#clusterId = response.header.cluster_id;
    watch.clusterId = this.#clusterId;
    this.#active.set(id, watch);
    entry.resolve(watch);
  }

  /** Ends the stream and every watch on it with `end`. */
  #endAll(end: StreamEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#lingerTimer);
    this.#check.stop();
    endCall(this.call);
    this.#onGone(this, end.reason === "closed" && this.#watching === 0);
    const failure =
      end.reason === "closed"
        ? new EtcdWatchStreamEnded()
        : end.reason === "compacted"
          ? new CompactedError(end.compactRevision)
          : end.error;
    for (const entry of this.#pending.splice(0)) {
      if (!entry.abandoned) entry.reject(failure);
    }
    for (const watch of this.#active.values()) watch.end(end);
    this.#active.clear();
    this.#watching = 0;
  }
}

/**
 * Ends a gRPC watch call. Half-close first: etcd3 counts an error on a still-writable
 * watch stream as a failure of the member (its circuit breaker opens after three), and
 * our own cancel ends the call with a CANCELLED error.
 */
function endCall(stream: WatchStreamPort): void {
  stream.end();
  stream.cancel();
}

function cancellation(response: IWatchResponse): Error {
  const compactRevision = Number(response.compact_revision);
  if (compactRevision > 0) return new CompactedError(compactRevision);
  return cancelReasonError(response.cancel_reason);
}
