/**
 * The twin as etcd3 sees it through `client.mock(callable)`: `exec` serves unary calls
 * (errors cast as etcd3 casts them on the real path), `withConnection` hands `fn` a
 * resource (`host`, `resetAllServices()`, `faultHandling.execute()`, which etcd3's
 * `markFailed` uses) and a fake gRPC client with every method of the service:
 * unary ones gRPC-style (`method(request, metadata, options, callback)`, honouring
 * `options.deadline`, errors not cast) and the streams (`watch`, `leaseKeepAlive`).
 *
 * @module
 */

import { ClientClosedError } from "etcd3";
import { FakeStream } from "./fake-stream.js";
import { fragments } from "./fragments.js";
import { castForCaller, etcdErrors, type GrpcStatusError, isGrpcError } from "./grpc-errors.js";
import type { Scheduler } from "./scheduler.js";
import type { EtcdServer } from "./server.js";
import { WatchSession } from "./watch-session.js";
import { type WireMethod, wireServices } from "./wire.js";
import type { Plain, WatchRequest } from "./wire-types.js";

/** Name of the twin's one member, as `resource.host`. */
export const MEMBER_HOST = "memory-etcd";

/** grpc-js's default `grpc.max_receive_message_length` on the client, in bytes. */
const MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

/** Shared state of every connection of one twin. */
export interface TwinState {
  readonly server: EtcdServer;
  readonly scheduler: Scheduler;
  /** Open streams, for faults and closing. */
  readonly streams: Set<FakeStream>;
  /** Pending unary calls' failure callbacks, for closing. */
  readonly pending: Set<(error: GrpcStatusError) => void>;
  /**
   * Keeps the process alive while a call or stream is open, as a gRPC connection with
   * active calls does; returns the release (idempotent).
   */
  hold(): () => void;
  readonly closed: boolean;
}

type Callback = (error: Error | null, response?: unknown) => void;

/** The `ICallable` etcd3's pool calls when mocked. */
export class Connection {
  readonly #state: TwinState;
  readonly #clientClosed: () => boolean;
  readonly #resource = {
    host: MEMBER_HOST,
    resetAllServices: (): void => {},
    faultHandling: { execute: async <T>(fn: () => T): Promise<T> => fn() },
  };

  constructor(state: TwinState, clientClosed: () => boolean) {
    this.#state = state;
    this.#clientClosed = clientClosed;
  }

  /** etcd3's mocked unary path. */
  exec<T>(service: string, method: string, payload: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#unary(service, method, payload, (error, response) => {
        if (error === null) resolve(response as T);
        else reject(castForCaller(error));
      });
    });
  }

  /** etcd3's mocked connection path. */
  withConnection<T>(
    service: string,
    fn: (args: { resource: unknown; client: unknown; metadata: unknown }) => Promise<T> | T,
  ): Promise<T> {
    if (this.#clientClosed()) return Promise.reject(new ClientClosedError(service));
    return Promise.resolve(
      fn({ resource: this.#resource, client: this.#client(service), metadata: {} }),
    );
  }

  #client(service: string): Record<string, unknown> {
    const client: Record<string, unknown> = {};
    for (const method of wireServices().get(service)?.values() ?? []) {
      client[method.name] = method.streaming
        ? () => this.#stream(service, method)
        : (request: unknown, ...rest: unknown[]) => this.#grpcUnary(service, method, request, rest);
    }
    return client;
  }

  /** gRPC-style unary call: `(request, [metadata], [options], callback)`. */
  #grpcUnary(service: string, method: WireMethod, request: unknown, rest: unknown[]): unknown {
    const callback = rest.find((arg) => typeof arg === "function") as Callback;
    const options = rest.find(
      (arg) => typeof arg === "object" && arg !== null && "deadline" in arg,
    ) as { deadline?: Date | number } | undefined;
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle: Callback = (error, response) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) globalThis.clearTimeout(timer);
      callback(error, response);
    };
    const deadline = options?.deadline === undefined ? undefined : Number(options.deadline);
    if (deadline !== undefined && Number.isFinite(deadline)) {
      timer = globalThis.setTimeout(
        () => settle(etcdErrors.deadlineExceeded()),
        Math.max(0, deadline - Date.now()),
      );
      (timer as { unref?: () => void }).unref?.();
    }
    this.#unary(service, method.name, request, settle);
    return {
      cancel: () => settle(etcdErrors.cancelledOnClient()),
      getPeer: () => MEMBER_HOST,
    };
  }

  #unary(service: string, methodName: string, payload: unknown, done: Callback): void {
    const { server, scheduler, pending } = this.#state;
    if (this.#clientClosed()) {
      done(new ClientClosedError(service));
      return;
    }
    const method = wireServices().get(service)?.get(methodName);
    if (method === undefined || method.streaming) {
      globalThis.setImmediate(() => done(etcdErrors.unimplemented(`${service}.${methodName}`)));
      return;
    }
    let bytes: Buffer;
    try {
      bytes = method.encodeRequest(payload);
    } catch (error) {
      done(error as Error);
      return;
    }
    const request = method.decodeRequest(bytes);
    if (this.#state.closed) {
      globalThis.setImmediate(() => done(etcdErrors.closed()));
      return;
    }
    const release = this.#state.hold();
    /** Ends the call once: false when it already ended. */
    const settle = (): boolean => {
      release();
      return pending.delete(fail);
    };
    const fail = (error: GrpcStatusError): void => {
      if (settle()) done(error);
    };
    pending.add(fail);
    scheduler.incoming({
      run: () => {
        let answer: () => void;
        try {
          const encoded = method.encodeResponse(
            server.unary(service, methodName, request as Plain, bytes.length),
          );
          answer =
            encoded.length > MAX_RECEIVE_BYTES
              ? () => done(etcdErrors.receivedTooLarge(encoded.length, MAX_RECEIVE_BYTES))
              : () => done(null, method.decodeResponse(encoded));
        } catch (error) {
          if (!isGrpcError(error)) throw error;
          answer = () => done(error);
        }
        scheduler.later(() => {
          if (settle()) answer();
        });
      },
      drop: (error) => globalThis.setImmediate(() => fail(error as GrpcStatusError)),
    });
  }

  #stream(service: string, method: WireMethod): FakeStream {
    const { server, scheduler, streams } = this.#state;
    const stream = new FakeStream(method);
    const send = (response: Plain, fragment = false): void => {
      const size = (piece: Plain): number => method.encodeResponse(piece).length;
      const pieces = fragment ? fragments(response, server.fragmentLimit, size) : [response];
      for (const piece of pieces) {
        const encoded = method.encodeResponse(piece);
        scheduler.later(() => {
          if (encoded.length <= MAX_RECEIVE_BYTES) stream.deliver(encoded);
          else stream.fail(etcdErrors.receivedTooLarge(encoded.length, MAX_RECEIVE_BYTES));
        });
      }
    };
    streams.add(stream);
    const release = this.#state.hold();
    if (this.#state.closed) {
      release();
      stream.fail(etcdErrors.closed());
      return stream;
    }
    if (service === "Watch") {
      const session = new WatchSession(server, send);
      server.sessions.add(session);
      stream.attach({
        onRequest: (request) =>
          scheduler.incoming({ run: () => session.handle(request as WatchRequest) }),
        onClose: () => {
          session.close();
          server.sessions.delete(session);
          streams.delete(stream);
          release();
        },
      });
    } else {
      stream.attach({
        onRequest: (request) =>
          scheduler.incoming({ run: () => send(server.keepAlive(String(request.ID))) }),
        onClose: () => {
          streams.delete(stream);
          release();
        },
      });
    }
    return stream;
  }
}
