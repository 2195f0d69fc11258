/**
 * Order and faults of the twin's traffic. Incoming work (a request, a stream message)
 * runs at once unless the member is frozen, then it is held and runs in order at thaw.
 * Outgoing work (responses, watch events, catch-up passes, lease expiry) runs later, on
 * `setImmediate`, in the order queued, never while frozen: delivery is never synchronous
 * within the caller's call.
 *
 * @module
 */

/** A held incoming item: `run` applies it; `drop` fails it without applying. */
export interface Incoming {
  run(): void;
  drop?(error: Error): void;
}

/** The twin's single ordered queue. */
export class Scheduler {
  #frozen = false;
  #held: Incoming[] = [];
  #queue: (() => void)[] = [];
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #closed = false;

  /** True between `freeze()` and `thaw()`. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Runs `item` now, or holds it while frozen. */
  incoming(item: Incoming): void {
    if (this.#closed) return;
    if (this.#frozen) this.#held.push(item);
    else item.run();
  }

  /** Queues `fn` to run after the current call, in order, once not frozen. */
  later(fn: () => void): void {
    if (this.#closed) return;
    this.#queue.push(fn);
    this.#schedule();
  }

  /** Holds incoming work and pauses outgoing work. */
  freeze(): void {
    this.#frozen = true;
  }

  /** Runs the held work in order, then resumes outgoing work. */
  thaw(): void {
    if (!this.#frozen) return;
    this.#frozen = false;
    const held = this.#held;
    this.#held = [];
    for (const item of held) item.run();
    this.#schedule();
  }

  /** Fails every held item with `error`, unapplied (a dropped connection). */
  dropHeld(error: Error): void {
    const held = this.#held;
    this.#held = [];
    for (const item of held) item.drop?.(error);
  }

  /** Drops everything queued and accepts nothing more. */
  close(): void {
    this.#closed = true;
    this.#held = [];
    this.#queue = [];
    if (this.#immediate !== undefined) globalThis.clearImmediate(this.#immediate);
    this.#immediate = undefined;
  }

  #schedule(): void {
    if (this.#immediate !== undefined || this.#frozen || this.#queue.length === 0) return;
    this.#immediate = globalThis.setImmediate(() => this.#pump());
  }

  #pump(): void {
    this.#immediate = undefined;
    const batch = this.#queue;
    this.#queue = [];
    for (let i = 0; i < batch.length; i++) {
      if (this.#frozen || this.#closed) {
        if (!this.#closed) this.#queue = [...batch.slice(i), ...this.#queue];
        return;
      }
      (batch[i] as () => void)();
    }
    this.#schedule();
  }
}
