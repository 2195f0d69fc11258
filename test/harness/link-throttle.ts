import type { Socket } from "node:net";

/**
 * A limit on one direction of a link: at most `bytesPerSecond` on average, and at most
 * `burstBytes` at once after an idle spell (a token bucket). Default burst: 16 KiB, or
 * the rate's bytes per 10 ms if that is more.
 */
export interface LinkRate {
  readonly bytesPerSecond: number;
  readonly burstBytes?: number;
}

/** Queued bytes per source socket above which the source is paused (backpressure). */
const HIGH_WATER = 64 * 1024;
/** The smallest slice sent when tokens run out, so a slow link still moves in chunks. */
const MIN_SLICE = 1024;

interface Item {
  readonly from: Socket;
  readonly to: Socket;
  /** Bytes to write, or `end` to end `to` once everything before it is written. */
  chunk: Buffer | "end";
}

/**
 * One direction of a proxied link, shared by every connection through the proxy (as one
 * network link is): bytes are written in arrival order, at the rate set, and only while
 * `flowing()`. With no rate they pass at once. Sources are paused while too much of
 * theirs is queued, or while the link is not flowing.
 */
export class LinkDirection {
  readonly #flowing: () => boolean;
  readonly #queue: Item[] = [];
  readonly #queued = new Map<Socket, number>();
  #rate: LinkRate | undefined;
  #tokens = 0;
  #refilledAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(flowing: () => boolean) {
    this.#flowing = flowing;
  }

  /** Sets or lifts (`undefined`) the limit; the bucket starts full. */
  setRate(rate: LinkRate | undefined): void {
    if (rate !== undefined && !(rate.bytesPerSecond > 0)) {
      throw new RangeError(`Expected bytesPerSecond > 0, got ${rate.bytesPerSecond}`);
    }
    this.#rate = rate;
    this.#tokens = this.#burst();
    this.#refilledAt = performance.now();
    this.pump();
  }

  /** Queues `chunk` from `from` for `to`. */
  send(from: Socket, to: Socket, chunk: Buffer): void {
    this.#queue.push({ from, to, chunk });
    const queued = (this.#queued.get(from) ?? 0) + chunk.length;
    this.#queued.set(from, queued);
    if (queued > HIGH_WATER) from.pause();
    this.pump();
  }

  /** Ends `to` after every byte queued for it so far. */
  end(from: Socket, to: Socket): void {
    this.#queue.push({ from, to, chunk: "end" });
    this.pump();
  }

  /** Writes what the rate allows now; schedules itself for the rest. Call on `pass`. */
  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0 && this.#flowing()) {
      const item = this.#queue[0] as Item;
      if (item.to.destroyed || item.to.writableEnded) {
        this.#dequeue(item, item.chunk === "end" ? 0 : item.chunk.length);
        continue;
      }
      if (item.chunk === "end") {
        this.#dequeue(item, 0);
        item.to.end();
        continue;
      }
      const allowed = this.#take(item.chunk.length);
      if (allowed === 0) {
        this.#timer = setTimeout(() => this.pump(), this.#waitMs(item.chunk.length));
        return;
      }
      const slice = item.chunk.subarray(0, allowed);
      item.chunk = item.chunk.subarray(allowed);
      if (item.chunk.length === 0) this.#dequeue(item, allowed);
      else this.#release(item.from, allowed);
      if (!item.to.write(slice)) {
        // The receiver is slow: wait for it (every connection of this direction waits).
        item.to.once("drain", () => this.pump());
        return;
      }
    }
  }

  /** Stops the timer; what is queued is dropped. */
  close(): void {
    clearTimeout(this.#timer);
    this.#queue.length = 0;
    this.#queued.clear();
  }

  #dequeue(item: Item, bytes: number): void {
    this.#queue.shift();
    this.#release(item.from, bytes);
  }

  #release(from: Socket, bytes: number): void {
    const queued = (this.#queued.get(from) ?? 0) - bytes;
    if (queued > 0) this.#queued.set(from, queued);
    else this.#queued.delete(from);
    if (queued <= HIGH_WATER && this.#flowing() && !from.destroyed) from.resume();
  }

  #burst(): number {
    const rate = this.#rate;
    if (rate === undefined) return Number.POSITIVE_INFINITY;
    return rate.burstBytes ?? Math.max(16 * 1024, rate.bytesPerSecond / 100);
  }

  /** Up to `wanted` bytes the bucket allows now (at least a slice, or nothing). */
  #take(wanted: number): number {
    const rate = this.#rate;
    if (rate === undefined) return wanted;
    const now = performance.now();
    this.#tokens = Math.min(
      this.#burst(),
      this.#tokens + ((now - this.#refilledAt) * rate.bytesPerSecond) / 1000,
    );
    this.#refilledAt = now;
    const allowed = Math.floor(Math.min(wanted, this.#tokens));
    if (allowed < Math.min(wanted, MIN_SLICE, this.#burst())) return 0;
    this.#tokens -= allowed;
    return allowed;
  }

  /** Time until the bucket holds a slice of `wanted` bytes, in ms (at least 1). */
  #waitMs(wanted: number): number {
    const rate = this.#rate as LinkRate;
    const slice = Math.min(wanted, MIN_SLICE, this.#burst());
    return Math.max(1, Math.ceil(((slice - this.#tokens) * 1000) / rate.bytesPerSecond));
  }
}
