/**
 * The keepalive loop of one lease: a keepalive every interval on one `LeaseKeepAlive`
 * stream of the user's client, each answer credited to the send time of the request it
 * answers.
 *
 * etcd answers the keepalives of one stream in order, so the loop keeps the send times
 * of unanswered requests in a queue and pops one per answer. A stream that breaks is
 * replaced at once (after a short backoff); one that stops answering (a frozen or
 * partitioned member: a keepalive unanswered for one and a half intervals) is cancelled
 * and replaced. A keepalive not answered within half an interval is
 * reported overdue.
 *
 * @module
 */

import type {
  Etcd3,
  IDuplexStream,
  ILeaseKeepAliveRequest,
  ILeaseKeepAliveResponse,
  Namespace,
} from "etcd3";
import type { MonotonicClock } from "./lease-clock.js";

type KeepaliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/** What the loop reports; called synchronously from stream events and timers. */
export interface KeepaliveListener {
  /** etcd answered the keepalive sent at `sentAt` (monotonic ms): the lease lives, with `ttl` s. */
  acknowledged(sentAt: number, ttl: number): void;
  /** etcd answered TTL 0: the lease does not exist any more (expired or revoked). */
  gone(): void;
  /** A keepalive is overdue, or no stream could be opened: `error` says why, if known. */
  overdue(error: unknown): void;
}

/**
 * A stream whose oldest unanswered keepalive is older than this many intervals is
 * replaced: with a TTL of 10 s, after 5 s, leaving about 3 s for a new stream before the
 * local deadline (TTL minus 1 s from the last acknowledged send).
 */
const STUCK_INTERVALS = 1.5;

/** First delay before reopening a broken stream, in ms; doubles up to the interval. */
const REOPEN_DELAY_MS = 50;

/** Keeps one lease alive until {@link KeepaliveLoop.stop}. */
export class KeepaliveLoop {
  readonly #client: Etcd3 | Namespace;
  readonly #id: string;
  readonly #listener: KeepaliveListener;
  readonly #now: MonotonicClock;
  #intervalMs: number;
  #stream: KeepaliveStream | undefined;
  #opening = false;
  /** Send times of the requests on `#stream` not answered yet, oldest first. */
  #outstanding: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Reports a keepalive overdue when it is not answered within half an interval. */
  #answerTimer: NodeJS.Timeout | undefined;
  #reopenDelay = REOPEN_DELAY_MS;
  #stopped = false;

  constructor(
    client: Etcd3 | Namespace,
    id: string,
    intervalMs: number,
    listener: KeepaliveListener,
    now: MonotonicClock,
  ) {
    this.#client = client;
    this.#id = id;
    this.#intervalMs = intervalMs;
    this.#listener = listener;
    this.#now = now;
  }

  /** Starts: the first keepalive is sent after one interval. */
  start(): void {
    this.#schedule(this.#intervalMs);
  }

  /** A new interval (etcd granted another TTL); takes effect at the next keepalive. */
  set intervalMs(ms: number) {
    this.#intervalMs = ms;
  }

  /** Stops for good: clears the timer and ends the stream. Idempotent. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#answerTimer);
    this.#dropStream(true);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    // Not unref'd: a live lease keeps the process alive, like an open socket, until it
    // is revoked or lost.
    this.#timer = setTimeout(() => this.#tick(), ms);
  }

  #tick(): void {
    if (this.#stopped) return;
    const oldest = this.#outstanding[0];
    if (oldest !== undefined && this.#now() - oldest > STUCK_INTERVALS * this.#intervalMs) {
      // Unanswered for longer than a slow answer takes: the stream may be stuck on a
      // frozen or cut-off member. Replace it (a slower answer would still have counted:
      // answers are credited to their send times, so a merely slow stream is kept).
      this.#listener.overdue(new Error("a lease keepalive was not answered in time"));
      this.#dropStream(true);
    }
    this.#schedule(this.#intervalMs);
    this.#send();
  }

  #send(): void {
    if (this.#stream !== undefined) {
      const sentAt = this.#now();
      this.#outstanding.push(sentAt);
      this.#stream.write({ ID: this.#id });
      if (this.#answerTimer === undefined) {
        this.#answerTimer = setTimeout(() => {
          this.#answerTimer = undefined;
          if (!this.#stopped && this.#outstanding[0] === sentAt) {
            this.#listener.overdue(new Error("a lease keepalive was not answered in time"));
          }
        }, this.#intervalMs / 2);
        this.#answerTimer.unref();
      }
      return;
    }
    if (this.#opening) return;
    this.#opening = true;
    this.#client.leaseClient.leaseKeepAlive().then(
      (stream) => {
        this.#opening = false;
        if (this.#stopped) {
          stream.cancel();
          return;
        }
        this.#attach(stream);
        this.#send();
      },
      (error: unknown) => {
        this.#opening = false;
        if (this.#stopped) return;
        this.#listener.overdue(error);
        this.#retrySoon();
      },
    );
  }

  #attach(stream: KeepaliveStream): void {
    this.#stream = stream;
    this.#outstanding = [];
    const ended = (): void => {
      if (this.#stream !== stream) return;
      this.#dropStream(false);
      if (!this.#stopped) this.#retrySoon();
    };
    stream.on("data", (response) => {
      if (this.#stream !== stream) return;
      this.#reopenDelay = REOPEN_DELAY_MS;
      clearTimeout(this.#answerTimer);
      this.#answerTimer = undefined;
      const ttl = Number(response.TTL);
      if (ttl <= 0) {
        this.#listener.gone();
        return;
      }
      const sentAt = this.#outstanding.shift();
      if (sentAt !== undefined) this.#listener.acknowledged(sentAt, ttl);
    });
    stream.on("error", ended);
    stream.on("end", ended);
  }

  /** Sends again after a short backoff, when a stream broke or could not be opened. */
  #retrySoon(): void {
    const delay = Math.min(this.#reopenDelay, this.#intervalMs);
    this.#reopenDelay = Math.min(this.#reopenDelay * 2, this.#intervalMs);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#stopped) return;
      this.#schedule(this.#intervalMs);
      this.#send();
    }, delay);
  }

  #dropStream(cancel: boolean): void {
    const stream = this.#stream;
    this.#stream = undefined;
    this.#outstanding = [];
    if (stream === undefined || !cancel) return;
    try {
      stream.cancel();
    } catch {
      // already ended
    }
  }
}
