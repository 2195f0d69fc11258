/**
 * One etcd watch on one gRPC watch stream: create it from a start revision, hand over
 * whole responses, and notice when the stream breaks, stalls or is cancelled.
 *
 * @module
 */

import { ClientClosedError, castGrpcError, EtcdWatchStreamEnded, type IWatchResponse } from "etcd3";
import { cancelReasonError } from "./classify.js";
import type { KeyRange } from "./key-range.js";
import type { EtcdPort, OpenedWatchStream, WatchStreamPort } from "./port.js";
import { RequestTimeoutError, withIdleTimeout, withSoftTimeout } from "./soft-timeout.js";
import { StallClock, StallPatience } from "./stall-clock.js";
import { type ProgressCheck, progressFrom } from "./transport-activity.js";

/** Why a watch stream ended. */
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

/** The watch could not be created because its start revision was compacted. */
export class CompactedError extends Error {
  constructor(readonly compactRevision: number) {
    super(`The watch start revision was compacted (compact revision ${compactRevision})`);
    this.name = "CompactedError";
  }
}

/** Settings of a {@link WatchStream}. */
export interface WatchStreamOptions {
  readonly range: KeyRange;
  /** First revision to deliver. */
  readonly startRevision: number;
  /** Silence, in ms, after which a progress request checks that the stream is alive. */
  readonly idleCheckMs: number;
  /**
   * Time, in ms, the server has to answer the create or a progress request, extended
   * while bytes arrive from the member and scaled by `patience` (see `stall-clock.ts`).
   */
  readonly answerTimeoutMs: number;
  /**
   * Shared by the successive streams of one watch: after a stall the next stream waits
   * longer for answers. Default: a patience of this stream's own.
   */
  readonly patience?: StallPatience | undefined;
  /**
   * Receives every response after the create: a whole revision's events at a time
   * (fragments are joined first), or a progress notification without events.
   */
  readonly onResponse: (response: IWatchResponse, stream: WatchStream) => void;
}

/**
 * A created etcd watch. Use {@link WatchStream.open}; await {@link WatchStream.ended};
 * `close()` when done. Exactly one `StreamEnd` is reported.
 */
export class WatchStream {
  /** Resolves once, with why the stream ended. */
  readonly ended: Promise<StreamEnd>;
  /** The member the stream runs on (see `OpenedWatchStream.member`). */
  readonly member: string | undefined;
  /** The gRPC call itself, for test seams: listen to it, or `cancel()` it to break it. */
  readonly call: WatchStreamPort;
  readonly #port: EtcdPort;
  readonly #stream: WatchStreamPort;
  readonly #options: WatchStreamOptions;
  #finish!: (end: StreamEnd) => void;
  #done = false;
  #fragments: IWatchResponse[] = [];
  #createdRevision = 0;
  #clusterId = "";
  readonly #patience: StallPatience;
  /** Bytes from the member; undefined when they cannot be seen. */
  readonly #progress: ProgressCheck | undefined;
  readonly #answerTimeoutMs: number;
  #clock: StallClock | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor(port: EtcdPort, opened: OpenedWatchStream, options: WatchStreamOptions) {
    this.#port = port;
    this.#stream = opened.stream;
    this.call = opened.stream;
    this.member = opened.member;
    this.#options = options;
    this.#patience = options.patience ?? new StallPatience();
    this.#progress = progressFrom(opened.member);
    this.#answerTimeoutMs = this.#patience.scale(options.answerTimeoutMs);
    this.ended = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  /**
   * Opens a stream, creates the watch and resolves once etcd confirmed it. Rejects with
   * {@link CompactedError} when the start revision is compacted, with the cancel reason
   * when etcd refuses the watch, with a `RequestTimeoutError` when the member does not
   * answer in time (the member is then suspected: see `EtcdPort.suspect`), or with what
   * the transport failed with.
   */
  static async open(port: EtcdPort, options: WatchStreamOptions): Promise<WatchStream> {
    const opening = port.openWatchStream();
    let opened: OpenedWatchStream;
    try {
      opened = await withSoftTimeout(
        opening,
        options.answerTimeoutMs,
        "opening an etcd watch stream",
      );
    } catch (error) {
      // A stream that opens after all would hold the process open: end it.
      opening.then(({ stream }) => endCall(stream)).catch(() => {});
      throw error;
    }
    const stream = new WatchStream(port, opened, options);
    try {
      await stream.#create();
    } catch (error) {
      stream.close();
      if (error instanceof RequestTimeoutError) {
        stream.#suspectMember();
        stream.#patience.stalled();
      }
      throw error;
    }
    stream.#armTimer();
    return stream;
  }

  /**
   * The store revision when etcd created the watch (its answer's header). Below the start
   * revision minus one, etcd lost data the watch had seen (wiped, or restored from an old
   * backup): the watch would stay silent until the store catches up (trap 12).
   */
  get createdRevision(): number {
    return this.#createdRevision;
  }

  /** The id of the cluster that created the watch (from its answer's header). */
  get clusterId(): string {
    return this.#clusterId;
  }

  /** Ends the stream from our side; `ended` resolves with `end` (default `closed`). */
  close(end: StreamEnd = { reason: "closed" }): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    endCall(this.#stream);
    this.#finish(end);
  }

  #suspectMember(): void {
    if (this.member !== undefined) this.#port.suspect(this.member);
  }

  #create(): Promise<void> {
    const { range, startRevision } = this.#options;
    let created = false;
    const confirmed = new Promise<void>((resolve, reject) => {
      const broken = (error: unknown): void => {
        if (this.#done) return;
        if (created) this.close({ reason: "broken", error });
        else reject(error);
      };
      this.#stream.on("data", (response) => {
        if (this.#done) return;
        if (created) {
          this.#clock?.heard(performance.now());
          this.#patience.heard();
          this.#onResponse(response);
        } else if (response.created) {
          if (response.canceled) {
            reject(cancellation(response));
            return;
          }
          created = true;
          this.#createdRevision = Number(response.header.revision);
          this.#clusterId = response.header.cluster_id;
          resolve();
        }
      });
      this.#stream.on("error", (error) => broken(castGrpcError(error)));
      this.#stream.on("end", () => broken(new EtcdWatchStreamEnded()));
    });
    this.#stream.write({
      create_request: {
        key: range.start,
        ...(range.end === undefined ? {} : { range_end: range.end }),
        start_revision: startRevision,
        progress_notify: true,
        fragment: true,
      },
    });
    return withIdleTimeout(
      confirmed,
      this.#answerTimeoutMs,
      "creating an etcd watch",
      this.#progress,
    );
  }

  #onResponse(response: IWatchResponse): void {
    if (response.canceled) {
      const error = cancellation(response);
      this.close(
        error instanceof CompactedError
          ? { reason: "compacted", compactRevision: error.compactRevision }
          : { reason: "cancelled", error },
      );
      return;
    }
    if (response.fragment) {
      this.#fragments.push(response);
      return;
    }
    if (this.#fragments.length > 0) {
      this.#fragments.push(response);
      const events = this.#fragments.flatMap((part) => part.events);
      this.#fragments = [];
      response = { ...response, events };
    }
    this.#options.onResponse(response, this);
  }

  /**
   * Liveness without trusting gRPC keepalive (a user's client may lack it): after
   * `idleCheckMs` of silence, ask the server for progress; no answer within
   * `answerTimeoutMs` (scaled by the patience), and no byte from the member meanwhile,
   * means the member is frozen or partitioned (see {@link StallClock}). A tick also ends
   * the stream once the client is closed (etcd3 would not); ticks are at most
   * max(`idleCheckMs`, `answerTimeoutMs`) apart (3 s by default).
   */
  #armTimer(): void {
    const { idleCheckMs } = this.#options;
    const answerTimeoutMs = this.#answerTimeoutMs;
    const clock = new StallClock(
      { idleCheckMs, answerTimeoutMs, progress: this.#progress },
      performance.now(),
    );
    this.#clock = clock;
    const tick = (): void => {
      if (this.#done) return;
      if (this.#port.isClosed?.() === true) {
        this.close({ reason: "cancelled", error: new ClientClosedError("Watch") });
        return;
      }
      const verdict = clock.check(performance.now());
      if (verdict.action === "stalled") {
        const error = new RequestTimeoutError("an etcd watch progress request", answerTimeoutMs);
        this.#suspectMember();
        this.#patience.stalled();
        this.close({ reason: "stalled", error });
        return;
      }
      if (verdict.action === "ask") this.#stream.write({ progress_request: {} });
      this.#timer = setTimeout(tick, Math.max(verdict.nextCheckMs, 10));
      this.#timer.unref();
    };
    tick();
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
