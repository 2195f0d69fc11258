/**
 * Type tests: compiled by `tsc --noEmit` (npm run typecheck), never run. A wrong type
 * makes the build fail; each `@ts-expect-error` line must stay an error.
 */

import type { Etcd3 } from "etcd3";
import { z } from "zod";
import {
  type Codec,
  codecs,
  type Decoded,
  type Decoder,
  decoders,
  type EtcdLease,
  EtcdLiveness,
  EtcdRangeValue,
  EtcdValue,
  type EventValue,
  type KeyUpdate,
  MemoryValue,
  type RangeSnapshot,
  type Watcher,
  type WatchStatus,
  type WriteOptions,
  type WriteResult,
} from "../src/index.js";

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function expectType<A, B>(_proof: Equal<A, B>): void {}

const memory = new MemoryValue<{ port: number }>();
expectType<Watcher<{ port: number }>, ReturnType<typeof memory.watch>>(true);
expectType<{ port: number } | undefined, typeof memory.current>(true);
const asEvent: EventValue<{ port: number }> = memory;
void asEvent;

// @ts-expect-error the initial value must match T
new MemoryValue<number>("one");
// @ts-expect-error set() takes a T
memory.set({ port: "80" });

const watcher = memory.watch();
expectType<Promise<{ port: number }>, ReturnType<typeof watcher.get>>(true);
expectType<number | undefined, typeof watcher.revision>(true);
void watcher.get({ filter: (cfg) => cfg.port > 0, backlogOnly: true });
// @ts-expect-error the filter sees a T
void watcher.get({ filter: (cfg: string) => cfg.length > 0 });
// @ts-expect-error revision is read-only
watcher.revision = 3;

const schema = decoders.schema(z.object({ port: z.number() }));
expectType<Decoder<{ port: number }>, typeof schema>(true);
expectType<Decoder<Decoded<string>>, ReturnType<typeof decoders.safe<string>>>(true);
expectType<Decoder<unknown>, ReturnType<typeof decoders.json>>(true);
expectType<Decoder<{ a: 1 }>, ReturnType<typeof decoders.json<{ a: 1 }>>>(true);

declare const client: Etcd3;
expectType<Watcher<Uint8Array | undefined>, ReturnType<EtcdValue["watch"]>>(true);
const textValue = new EtcdValue(client, "/k", { decoder: decoders.text });
expectType<Watcher<string | undefined>, ReturnType<typeof textValue.watch>>(true);
const schemaValue = new EtcdValue(client, "/k", { decoder: schema });
expectType<Watcher<{ port: number } | undefined>, ReturnType<typeof schemaValue.watch>>(true);
expectType<EventValue<WatchStatus>, ReturnType<typeof textValue.status>>(true);
// @ts-expect-error the key must be a string
new EtcdValue(client, 42);
// @ts-expect-error a decoder takes bytes and a key
new EtcdValue(client, "/k", { decoder: (n: number) => n });

const range = new EtcdRangeValue(client, { prefix: "/p/" }, { decoder: decoders.json<number[]>() });
expectType<Watcher<KeyUpdate<number[]>>, ReturnType<typeof range.watch>>(true);
expectType<EventValue<RangeSnapshot<number[]>>, ReturnType<typeof range.snapshots>>(true);
expectType<Watcher<KeyUpdate<Uint8Array>>, ReturnType<EtcdRangeValue["watch"]>>(true);
new EtcdRangeValue(client, { start: "/a", end: "/b" });
// @ts-expect-error a range is a prefix or a start and an end
new EtcdRangeValue(client, { start: "/a" });

const liveness = new EtcdLiveness(client, { interval: 1000, timeout: 500 });
expectType<Watcher<boolean>, ReturnType<typeof liveness.watch>>(true);
const livenessAsEvent: EventValue<boolean> = liveness;
void livenessAsEvent;
// @ts-expect-error interval is a number of milliseconds
new EtcdLiveness(client, { interval: "5000" });
// @ts-expect-error no such option
new EtcdLiveness(client, { deadline: 1000 });

// Writes: typed from the codec.
const textCodecValue = new EtcdValue(client, "/k", { codec: codecs.text });
expectType<Watcher<string | undefined>, ReturnType<typeof textCodecValue.watch>>(true);
expectType<Promise<WriteResult<string>>, ReturnType<typeof textCodecValue.set>>(true);
void textCodecValue.set("x");
void textCodecValue.set(undefined, { ifRevision: 0, guard: { key: "/lock", createRevision: 3 } });
// @ts-expect-error set() takes the codec's type
void textCodecValue.set(42);
void textCodecValue.update((current) => `${current ?? ""}!`);
// @ts-expect-error update's fn returns the codec's type
void textCodecValue.update(() => 42);
// @ts-expect-error update() compares revisions itself: no ifRevision
void textCodecValue.update((s) => s, { ifRevision: 3 });
const jsonCodecValue = new EtcdValue(client, "/k", { codec: codecs.json<{ n: number }>() });
void jsonCodecValue.update((current) => ({ n: (current?.n ?? 0) + 1 }));
// @ts-expect-error a guard has a numeric create revision
void jsonCodecValue.set({ n: 1 }, { guard: { key: "/lock", createRevision: "3" } });
const schemaCodecValue = new EtcdValue(client, "/k", {
  codec: codecs.schema(z.object({ port: z.number() })),
});
expectType<Promise<WriteResult<{ port: number }>>, ReturnType<typeof schemaCodecValue.set>>(true);
// @ts-expect-error set() takes the schema's type
void schemaCodecValue.set({ port: "80" });
const bytesValue = new EtcdValue(client, "/k");
void bytesValue.set(new Uint8Array([1]));
// @ts-expect-error the default codec is bytes
void bytesValue.set("text");
expectType<Codec<string>, typeof codecs.text>(true);
const written: WriteResult<number> = {
  ok: false,
  reason: "revision",
  revision: 0,
  value: undefined,
};
void written;
declare const lease: EtcdLease;
const writeOptions: WriteOptions = { lease, signal: AbortSignal.timeout(1000) };
void writeOptions;
// @ts-expect-error a lease is an EtcdLease
void textCodecValue.set("x", { lease: "7587" });
// @ts-expect-error a lease is an EtcdLease, not any object with an id
void textCodecValue.set("x", { lease: { id: "7587" } });
expectType<EtcdLease | undefined, WriteOptions["lease"]>(true);
memory.update((current) => ({ port: (current?.port ?? 0) + 1 }));
// @ts-expect-error MemoryValue.update's fn returns a T
memory.update(() => undefined);

// A decoder factory given where a decoder belongs (without its call) is a type error whose
// message names the call to write: '"decoders.json()"' is not assignable to type 'never'.
// @ts-expect-error decoders.json is a factory: write decoders.json()
new EtcdValue(client, "/k", { decoder: decoders.json });
// @ts-expect-error decoders.schema is a factory: write decoders.schema(yourSchema)
new EtcdRangeValue(client, { prefix: "/p/" }, { decoder: decoders.schema });
// @ts-expect-error decoders.safe takes a decoder, not a factory
decoders.safe(decoders.json);
const ownDecoder: Decoder<number> = (bytes) => bytes.length; // any other function is a decoder
new EtcdValue(client, "/k", { decoder: ownDecoder });

// watch({ signal }) on every value; anything else is refused
const shutdown = new AbortController();
void memory.watch({ signal: shutdown.signal });
void textValue.watch({ signal: shutdown.signal });
void textValue.status().watch({ signal: shutdown.signal });
void range.watch({ signal: shutdown.signal });
void range.snapshots().watch({ signal: shutdown.signal });
void liveness.watch({ signal: shutdown.signal });
// @ts-expect-error watch() takes options, not a bare signal
void memory.watch(shutdown.signal);

// Without a decoder or codec the values are bytes: naming another T must not compile.
interface AppConfig {
  port: number;
}
// @ts-expect-error without a decoder or codec, T is Uint8Array
new EtcdValue<AppConfig>(client, "/k");
// @ts-expect-error the same for ranges
new EtcdRangeValue<AppConfig>(client, { prefix: "/p/" });
const configValue = new EtcdValue<AppConfig>(client, "/k", {
  decoder: decoders.json<AppConfig>(),
});
expectType<Watcher<AppConfig | undefined>, ReturnType<typeof configValue.watch>>(true);
const codecValue = new EtcdValue(client, "/k", { codec: codecs.json<AppConfig>() });
expectType<Watcher<AppConfig | undefined>, ReturnType<typeof codecValue.watch>>(true);
const bytesOptionsValue = new EtcdValue(client, "/k", { backoff: {} });
expectType<Watcher<Uint8Array | undefined>, ReturnType<typeof bytesOptionsValue.watch>>(true);
const bytesRange = new EtcdRangeValue(client, { prefix: "/p/" });
expectType<Watcher<KeyUpdate<Uint8Array>>, ReturnType<typeof bytesRange.watch>>(true);
const configRange = new EtcdRangeValue<AppConfig>(
  client,
  { prefix: "/p/" },
  {
    decoder: decoders.json<AppConfig>(),
  },
);
expectType<Watcher<KeyUpdate<AppConfig>>, ReturnType<typeof configRange.watch>>(true);
