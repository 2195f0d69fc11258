/**
 * The wire codec: etcd3's own `proto/rpc.proto` loaded with etcd3's proto-loader
 * options. Requests are encoded as the real client encodes them and decoded as a
 * server would; responses are encoded from the twin's plain objects and decoded as the
 * client decodes them, so every shape the caller sees is that of the real path (int64
 * as decimal strings, bytes as Buffers, enum names, unset messages `null`).
 *
 * @module
 */

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { loadSync, type MethodDefinition, type ServiceDefinition } from "@grpc/proto-loader";

const require = createRequire(import.meta.url);

/** One method of a service, with its codecs. */
export interface WireMethod {
  /** etcd3's spelling, e.g. `range`, `leaseKeepAlive`. */
  readonly name: string;
  readonly streaming: boolean;
  /** Client request → bytes (protobufjs `fromObject`, so strings in bytes fields are base64). */
  encodeRequest(request: unknown): Buffer;
  /** Bytes → the request as the server reads it. */
  decodeRequest(bytes: Buffer): Record<string, unknown>;
  /** The twin's plain response → bytes. */
  encodeResponse(response: unknown): Buffer;
  /** Bytes → the response as etcd3 sees it. */
  decodeResponse(bytes: Buffer): unknown;
}

/** etcd's services by etcd3's name (`KV`, `Watch`, `Lease`, ...), methods by etcd3's name. */
export type WireServices = ReadonlyMap<string, ReadonlyMap<string, WireMethod>>;

let loaded: WireServices | undefined;

/** The services of etcd3's proto, loaded once. */
export function wireServices(): WireServices {
  loaded ??= load();
  return loaded;
}

function load(): WireServices {
  const protoFile = join(dirname(require.resolve("etcd3")), "..", "proto", "rpc.proto");
  const options = { keepCase: true, longs: String, enums: String, oneofs: true };
  const definition = loadSync(protoFile, { ...options, defaults: true });
  // Without defaults, a field absent on the wire stays absent: see `markAbsentRangeEnds`.
  const sparse = loadSync(protoFile, { ...options, defaults: false });
  const services = new Map<string, Map<string, WireMethod>>();
  for (const [fullName, value] of Object.entries(definition)) {
    if (!fullName.startsWith("etcdserverpb.") || "format" in value) continue;
    const sparseService = sparse[fullName] as ServiceDefinition;
    const methods = new Map<string, WireMethod>();
    for (const [name, method] of Object.entries(value as ServiceDefinition)) {
      const wire = wireMethod(method, sparseService[name] as MethodDefinition<object, object>);
      methods.set(wire.name, wire);
    }
    services.set(fullName.slice("etcdserverpb.".length), methods);
  }
  return services;
}

function wireMethod(
  method: MethodDefinition<object, object>,
  sparse: MethodDefinition<object, object>,
): WireMethod {
  const original = method.originalName ?? "";
  return {
    name: original.charAt(0).toLowerCase() + original.slice(1),
    streaming: method.requestStream || method.responseStream,
    encodeRequest: (request) => method.requestSerialize(request as object),
    decodeRequest: (bytes) => {
      const request = method.requestDeserialize(bytes) as Record<string, unknown>;
      markAbsentRangeEnds(request, sparse.requestDeserialize(bytes));
      return request;
    },
    encodeResponse: (response) => method.responseSerialize(response as object),
    decodeResponse: (bytes) => method.responseDeserialize(bytes),
  };
}

/**
 * Sets every `range_end` absent on the wire to `null` in `decoded`. etcd (gogo
 * protobuf) tells an absent `range_end` (one key) from an empty one sent explicitly
 * (every key from `key` on, like `"\0"`), and etcd3's encoder sends an empty Buffer.
 */
function markAbsentRangeEnds(decoded: unknown, sparse: unknown): void {
  if (typeof decoded !== "object" || decoded === null || Buffer.isBuffer(decoded)) return;
  const present = (typeof sparse === "object" && sparse !== null ? sparse : {}) as Record<
    string,
    unknown
  >;
  for (const [field, value] of Object.entries(decoded)) {
    if (field === "range_end" && !(field in present)) {
      (decoded as Record<string, unknown>)[field] = null;
    } else {
      markAbsentRangeEnds(value, present[field]);
    }
  }
}
