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

/** What the twin uses of a protobufjs message type. */
interface MessageType {
  fromObject(object: object): unknown;
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: object): Record<string, unknown>;
}

/** What the twin uses of a protobufjs service. */
interface ServiceType {
  readonly methodsArray: readonly {
    readonly name: string;
    readonly requestStream?: boolean;
    readonly responseStream?: boolean;
    readonly resolvedRequestType: MessageType | null;
    readonly resolvedResponseType: MessageType | null;
  }[];
}

interface ProtobufRoot {
  loadSync(file: string, options: object): ProtobufRoot;
  resolveAll(): ProtobufRoot;
  lookupService(path: string): ServiceType;
  lookup(path: string): { nested?: Record<string, unknown> } | null;
}

/** etcd3's proto-loader options: its client decodes with these (`connection-pool.js`). */
const CLIENT_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  oneofs: true,
  defaults: true,
};

let loaded: WireServices | undefined;

/**
 * The services of etcd3's proto, loaded once per process (the first `MemoryEtcd` loads
 * it: parsing the proto is the twin's start-up cost, like a member's start).
 */
export function wireServices(): WireServices {
  loaded ??= load();
  return loaded;
}

/**
 * Parses etcd3's `proto/rpc.proto` once with the protobufjs that etcd3's proto-loader
 * uses, and builds codecs that do what proto-loader's do (`fromObject` + `encode`;
 * `decode` + `toObject` with etcd3's options), without its second parse per option set.
 */
function load(): WireServices {
  const etcd3Dir = dirname(require.resolve("etcd3"));
  const fromLoader = createRequire(require.resolve("@grpc/proto-loader", { paths: [etcd3Dir] }));
  const protobuf = fromLoader("protobufjs") as { Root: new () => ProtobufRoot };
  const root = new protobuf.Root()
    .loadSync(join(etcd3Dir, "..", "proto", "rpc.proto"), { keepCase: true })
    .resolveAll();
  const services = new Map<string, Map<string, WireMethod>>();
  for (const name of Object.keys(root.lookup("etcdserverpb")?.nested ?? {})) {
    let service: ServiceType;
    try {
      service = root.lookupService(`etcdserverpb.${name}`);
    } catch {
      continue; // a message, not a service
    }
    const methods = new Map<string, WireMethod>();
    for (const method of service.methodsArray) {
      const wire = wireMethod(method);
      methods.set(wire.name, wire);
    }
    services.set(name, methods);
  }
  return services;
}

function wireMethod(method: ServiceType["methodsArray"][number]): WireMethod {
  const request = method.resolvedRequestType as MessageType;
  const response = method.resolvedResponseType as MessageType;
  const encode = (type: MessageType, object: unknown): Buffer => {
    if (Array.isArray(object)) {
      throw new Error("Failed to serialize message: expected an object, got an array");
    }
    const bytes = type.encode(type.fromObject(object as object)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
  return {
    name: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    streaming: method.requestStream === true || method.responseStream === true,
    encodeRequest: (object) => encode(request, object),
    decodeRequest: (bytes) => {
      const message = request.decode(bytes);
      const decoded = request.toObject(message, CLIENT_OPTIONS);
      markAbsentRangeEnds(decoded, message);
      return decoded;
    },
    encodeResponse: (object) => encode(response, object),
    decodeResponse: (bytes) => response.toObject(response.decode(bytes), CLIENT_OPTIONS),
  };
}

/**
 * Sets every `range_end` absent on the wire to `null` in `decoded` (the plain object of
 * `message`, protobufjs's decoded message, which holds as own properties exactly the
 * fields that were on the wire). etcd (gogo protobuf) tells an absent `range_end` (one
 * key) from an empty one sent explicitly (every key from `key` on, like `"\0"`), and
 * etcd3's encoder sends an empty Buffer.
 */
function markAbsentRangeEnds(decoded: unknown, message: unknown): void {
  if (typeof decoded !== "object" || decoded === null || Buffer.isBuffer(decoded)) return;
  const wire = (typeof message === "object" && message !== null ? message : {}) as Record<
    string,
    unknown
  >;
  for (const [field, value] of Object.entries(decoded)) {
    if (field === "range_end" && !Object.hasOwn(wire, field)) {
      (decoded as Record<string, unknown>)[field] = null;
    } else {
      markAbsentRangeEnds(value, wire[field]);
    }
  }
}
