/**
 * A gRPC duplex call as grpc-js hands it to etcd3 (`ClientDuplexStream`): an object-mode
 * `Duplex` with `cancel()`; each written message goes through the wire codec to the
 * server, each server message through it back. A failed call pushes the end of the
 * stream, emits `error` (gRPC-shaped) then `status`, and `end` follows, as in grpc-js.
 * `cancel()` fails the call with CANCELLED.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { etcdErrors, type GrpcStatusError } from "./grpc-errors.js";
import type { WireMethod } from "./wire.js";

/** The server side of a fake call. */
export interface StreamServer {
  /** One decoded request message and its encoded size. */
  onRequest(request: Record<string, unknown>, size: number): void;
  /** The call ended (cancelled by the client or failed): drop its server state. */
  onClose(): void;
}

/** One fake bidirectional call. */
export class FakeStream extends Duplex {
  readonly #method: WireMethod;
  #server: StreamServer | undefined;
  #done = false;

  constructor(method: WireMethod) {
    super({ objectMode: true });
    this.#method = method;
  }

  /** Connects the server side (before any write). */
  attach(server: StreamServer): void {
    this.#server = server;
  }

  /** True once the call failed or was cancelled. */
  get done(): boolean {
    return this.#done;
  }

  /** Sends one server message (a plain response), unless the call is over. */
  deliver(encoded: Buffer): void {
    if (this.#done) return;
    this.push(this.#method.decodeResponse(encoded));
  }

  /**
   * Ends the call with `error`, as grpc-js does on a non-OK status: the server side is
   * dropped at once (messages not yet delivered are lost), the caller hears of it on the
   * next turn of the event loop.
   */
  fail(error: GrpcStatusError): void {
    if (this.#done) return;
    this.#done = true;
    this.#server?.onClose();
    this.#server = undefined;
    globalThis.setImmediate(() => {
      this.push(null);
      this.emit("error", error);
      this.emit("status", { code: error.code, details: error.details, metadata: {} });
    });
  }

  /** Cancels the call: the server drops it; the caller gets CANCELLED. */
  cancel(): void {
    this.fail(etcdErrors.cancelledOnClient());
  }

  /** The peer's address, as grpc-js reports it. */
  getPeer(): string {
    return "memory-etcd";
  }

  override _read(): void {}

  override _write(
    chunk: unknown,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    let bytes: Buffer;
    try {
      bytes = this.#method.encodeRequest(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (!this.#done) this.#server?.onRequest(this.#method.decodeRequest(bytes), bytes.length);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // A half-close: etcd keeps serving the stream.
    callback();
  }
}
