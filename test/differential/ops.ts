/**
 * The operations of the differential test, as plain data, and the fast-check
 * arbitraries that generate them. Revisions in an operation are relative to the store's
 * current revision when it runs (`{ back: 2 }` is two below it), and leases and watches
 * are referred to by the order they were made in the run, so one list means the same on
 * every store.
 */

import fc from "fast-check";

/** Bytes, as an array of octets (printable and JSON-safe). */
export type Bytes = readonly number[];

/** A revision relative to the store's current one when the operation runs. */
export type RevRef =
  | { readonly at: "latest" } // 0: "now" for reads and watches
  | { readonly at: "back"; readonly by: number } // current - by (may be <= 0 or compacted)
  | { readonly at: "ahead"; readonly by: number }; // current + by (a future revision)

/** A lease: the n-th granted in the run (modulo), an unknown one, or none. */
export type LeaseRef =
  | { readonly lease: "granted"; readonly index: number }
  | { readonly lease: "unknown" }
  | { readonly lease: "none" };

export type SortOrder = "None" | "Ascend" | "Descend";
export type SortTarget = "Key" | "Version" | "Create" | "Mod" | "Value";
export type CompareTarget = "Version" | "Create" | "Mod" | "Value" | "Lease";
export type CompareResult = "Equal" | "Greater" | "Less" | "NotEqual";

export interface PutOp {
  readonly op: "put";
  readonly key: Bytes;
  readonly value: Bytes;
  readonly lease: LeaseRef;
  readonly prevKv: boolean;
  readonly ignoreValue: boolean;
  readonly ignoreLease: boolean;
}

/** A put of a value over etcd's request size limit (1.5 MiB): refused. */
export interface HugePutOp {
  readonly op: "hugePut";
  readonly key: Bytes;
}

export interface DeleteOp {
  readonly op: "delete";
  readonly key: Bytes;
  readonly rangeEnd: Bytes | undefined;
  readonly prevKv: boolean;
}

export interface RangeOp {
  readonly op: "range";
  readonly key: Bytes;
  readonly rangeEnd: Bytes | undefined;
  readonly limit: number;
  readonly revision: RevRef;
  readonly sortOrder: SortOrder;
  readonly sortTarget: SortTarget;
  readonly keysOnly: boolean;
  readonly countOnly: boolean;
  readonly minMod: RevRef | undefined;
  readonly maxMod: RevRef | undefined;
  readonly minCreate: RevRef | undefined;
  readonly maxCreate: RevRef | undefined;
}

export interface Compare {
  readonly key: Bytes;
  readonly rangeEnd: Bytes | undefined;
  readonly target: CompareTarget;
  readonly result: CompareResult;
  /** Version: the number itself; Create/Mod: a revision; Value: bytes; Lease: a lease. */
  readonly version: number;
  readonly revision: RevRef;
  readonly value: Bytes;
  readonly lease: LeaseRef;
}

/** What a transaction branch may hold. */
export type RequestOp = PutOp | DeleteOp | RangeOp | TxnOp;

export interface TxnOp {
  readonly op: "txn";
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

/** A transaction of `count` reads (etcd allows 128 operations per list). */
export interface ManyOpsTxnOp {
  readonly op: "manyOpsTxn";
  readonly count: number;
}

export interface CompactOp {
  readonly op: "compact";
  readonly revision: RevRef;
  readonly physical: boolean;
}

export interface GrantOp {
  readonly op: "grant";
  /** Seconds; long enough not to expire during a run (expiry timing is etcd's, ±500 ms). */
  readonly ttl: number;
  /** An ID chosen by the client (0: etcd chooses). */
  readonly id: number;
}

/** Grants with a TTL below etcd's minimum (or above its maximum), then revokes at once. */
export interface GrantShortOp {
  readonly op: "grantShort";
  readonly ttl: number;
}

export interface RevokeOp {
  readonly op: "revoke";
  readonly lease: LeaseRef;
}

export interface KeepAliveOp {
  readonly op: "keepAlive";
  readonly lease: LeaseRef;
}

export interface TimeToLiveOp {
  readonly op: "timeToLive";
  readonly lease: LeaseRef;
  readonly keys: boolean;
}

export interface LeasesOp {
  readonly op: "leases";
}

export interface WatchOp {
  readonly op: "watch";
  /** Which of the run's watch streams (opened at first use). */
  readonly stream: number;
  readonly key: Bytes;
  readonly rangeEnd: Bytes | undefined;
  readonly start: RevRef;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
}

export interface CancelOp {
  readonly op: "cancel";
  /** The n-th watch created in the run (modulo). */
  readonly watch: number;
}

export interface ProgressOp {
  readonly op: "progress";
  readonly stream: number;
}

/** One step of a run. */
export type Op =
  | PutOp
  | HugePutOp
  | DeleteOp
  | RangeOp
  | TxnOp
  | ManyOpsTxnOp
  | CompactOp
  | GrantOp
  | GrantShortOp
  | RevokeOp
  | KeepAliveOp
  | TimeToLiveOp
  | LeasesOp
  | WatchOp
  | CancelOp
  | ProgressOp;

const bytes = (text: string): Bytes => [...Buffer.from(text, "latin1")];

/**
 * Twelve keys at most (with the empty key, which etcd refuses): few enough to collide
 * often, and to keep sorts within Go's stable insertion sort (12 items), so ties sort
 * the same on etcd and on a stable sort. Bytes 0x00, 0xff, UTF-8 "é" and an invalid
 * UTF-8 byte test byte order.
 */
export const KEYS: readonly Bytes[] = [
  bytes("a"),
  bytes("a\x00"),
  bytes("ab"),
  bytes("b"),
  bytes("b\xff"),
  bytes("c"),
  [0xc3, 0xa9], // "é" in UTF-8
  [0xc3], // not valid UTF-8
  bytes("\xff"),
  bytes("\xff\xff"),
  bytes("\x00"),
];

const VALUES: readonly Bytes[] = [bytes(""), bytes("v"), bytes("w"), [0xff, 0x00]];

/** The range end that makes `key` a prefix (etcd3's rule); `[0]` for an all-0xff key. */
export function prefixEnd(key: Bytes): Bytes {
  const end = [...key];
  while (end.length > 0 && end[end.length - 1] === 0xff) end.pop();
  if (end.length === 0) return [0];
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
}

const keyArb: fc.Arbitrary<Bytes> = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 1, arbitrary: fc.constant<Bytes>([]) },
);

/** A key with a range end: none, `\0` (all keys >= key), its prefix end, or another key. */
const rangeArb: fc.Arbitrary<{ key: Bytes; rangeEnd: Bytes | undefined }> = fc.oneof(
  { weight: 4, arbitrary: keyArb.map((key) => ({ key, rangeEnd: undefined })) },
  {
    weight: 3,
    arbitrary: keyArb.map((key) => ({
      key,
      rangeEnd: key.length === 0 ? undefined : prefixEnd(key),
    })),
  },
  { weight: 1, arbitrary: keyArb.map((key) => ({ key, rangeEnd: [0] as Bytes })) },
  { weight: 1, arbitrary: fc.constant({ key: [0] as Bytes, rangeEnd: [0] as Bytes }) },
  {
    weight: 2,
    // An explicitly empty range_end stays in: etcd 3.4 reads it as "to the end" for
    // Range, DeleteRange and Compare, as one key for Watch and in the duplicate-key check.
    arbitrary: fc.record({ key: keyArb, rangeEnd: keyArb }),
  },
);

const revArb: fc.Arbitrary<RevRef> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<RevRef>({ at: "latest" }) },
  {
    weight: 6,
    arbitrary: fc.integer({ min: 0, max: 8 }).map((by): RevRef => ({ at: "back", by })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 2 }).map((by): RevRef => ({ at: "ahead", by })),
  },
);

/** Mostly unset: each filter prunes, and a range with all four rarely returns anything. */
const optionalRevArb: fc.Arbitrary<RevRef | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: revArb },
);

const leaseArb: fc.Arbitrary<LeaseRef> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<LeaseRef>({ lease: "none" }) },
  {
    weight: 4,
    arbitrary: fc.nat(7).map((index): LeaseRef => ({ lease: "granted", index })),
  },
  { weight: 1, arbitrary: fc.constant<LeaseRef>({ lease: "unknown" }) },
);

const putArb: fc.Arbitrary<PutOp> = fc.record({
  op: fc.constant("put" as const),
  key: keyArb,
  value: fc.constantFrom(...VALUES),
  lease: leaseArb,
  prevKv: fc.boolean(),
  ignoreValue: fc.constant(false),
  ignoreLease: fc.constant(false),
});

/** ignore_value / ignore_lease are rare: each refuses more than it accepts. */
const putWithIgnoresArb: fc.Arbitrary<PutOp> = fc
  .tuple(putArb, fc.nat(19), fc.nat(19))
  .map(([put, iv, il]) => ({
    ...put,
    ignoreValue: iv === 0,
    ignoreLease: il === 0,
    value: iv === 0 && il % 2 === 0 ? [] : put.value,
  }));

const deleteArb: fc.Arbitrary<DeleteOp> = fc
  .tuple(rangeArb, fc.boolean())
  .map(([range, prevKv]) => ({ op: "delete", ...range, prevKv }));

/** `value` most of the time, else any of `arbitrary`. */
function mostly<T>(value: T, arbitrary: fc.Arbitrary<T>, weight = 3): fc.Arbitrary<T> {
  return fc.oneof({ weight, arbitrary: fc.constant(value) }, { weight: 1, arbitrary });
}

const rangeOpArb: fc.Arbitrary<RangeOp> = fc
  .record({
    range: rangeArb,
    limit: mostly(0, fc.integer({ min: 1, max: 3 }), 2),
    revision: mostly<RevRef>({ at: "latest" }, revArb, 2),
    sortOrder: mostly<SortOrder>("None", fc.constantFrom<SortOrder>("Ascend", "Descend"), 2),
    sortTarget: mostly<SortTarget>(
      "Key",
      fc.constantFrom<SortTarget>("Version", "Create", "Mod", "Value"),
      1,
    ),
    keysOnly: fc.nat(3).map((n) => n === 0),
    countOnly: fc.nat(5).map((n) => n === 0),
    minMod: optionalRevArb,
    maxMod: optionalRevArb,
    minCreate: optionalRevArb,
    maxCreate: optionalRevArb,
  })
  .map(({ range, ...rest }) => ({ op: "range", ...range, ...rest }));

const compareArb: fc.Arbitrary<Compare> = fc
  .record({
    range: fc.oneof(
      {
        weight: 4,
        arbitrary: keyArb.map((key) => ({ key, rangeEnd: undefined as Bytes | undefined })),
      },
      { weight: 1, arbitrary: rangeArb },
    ),
    target: fc.constantFrom<CompareTarget>("Version", "Create", "Mod", "Value", "Lease"),
    result: fc.constantFrom<CompareResult>("Equal", "Greater", "Less", "NotEqual"),
    version: fc.nat(3),
    revision: revArb,
    value: fc.constantFrom(...VALUES),
    lease: leaseArb,
  })
  .map(({ range, ...rest }) => ({ ...range, ...rest }));

const txnArb: fc.Arbitrary<TxnOp> = fc.letrec<{ txn: TxnOp; requestOp: RequestOp }>((tie) => ({
  requestOp: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 4, arbitrary: putWithIgnoresArb },
    { weight: 2, arbitrary: deleteArb },
    { weight: 2, arbitrary: rangeOpArb },
    { weight: 1, arbitrary: tie("txn") },
  ),
  txn: fc.record({
    op: fc.constant("txn" as const),
    compare: fc.array(compareArb, { maxLength: 3 }),
    success: fc.array(tie("requestOp"), { maxLength: 3 }),
    failure: fc.array(tie("requestOp"), { maxLength: 3 }),
  }),
})).txn;

const watchArb: fc.Arbitrary<WatchOp> = fc
  .record({
    stream: fc.nat(1),
    range: rangeArb,
    start: fc.oneof(
      { weight: 2, arbitrary: fc.constant<RevRef>({ at: "latest" }) },
      {
        weight: 5,
        arbitrary: fc.integer({ min: 0, max: 12 }).map((by): RevRef => ({ at: "back", by })),
      },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 1, max: 2 }).map((by): RevRef => ({ at: "ahead", by })),
      },
    ),
    noPut: fc.nat(4).map((n) => n === 0),
    noDelete: fc.nat(4).map((n) => n === 0),
    prevKv: fc.boolean(),
  })
  .map(({ range, ...rest }) => ({ op: "watch", ...range, ...rest }));

/** One operation, weighted towards writes (which make history) and reads of it. */
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: putWithIgnoresArb },
  { weight: 4, arbitrary: deleteArb },
  { weight: 8, arbitrary: rangeOpArb },
  { weight: 6, arbitrary: txnArb },
  { weight: 4, arbitrary: watchArb },
  { weight: 1, arbitrary: fc.nat(9).map((n): CancelOp => ({ op: "cancel", watch: n })) },
  { weight: 1, arbitrary: fc.nat(1).map((stream): ProgressOp => ({ op: "progress", stream })) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("compact" as const),
      revision: fc.oneof(
        {
          weight: 5,
          arbitrary: fc.integer({ min: 0, max: 6 }).map((by): RevRef => ({ at: "back", by })),
        },
        { weight: 1, arbitrary: fc.constant<RevRef>({ at: "ahead", by: 1 }) },
      ),
      physical: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("grant" as const),
      ttl: fc.constantFrom(60, 300, 3600),
      id: fc.oneof(
        { weight: 6, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.constantFrom(7, 8) },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(-5, 0, 1, 2, 9_000_000_001)
      .map((ttl): GrantShortOp => ({ op: "grantShort", ttl })),
  },
  { weight: 2, arbitrary: leaseArb.map((lease): RevokeOp => ({ op: "revoke", lease })) },
  { weight: 2, arbitrary: leaseArb.map((lease): KeepAliveOp => ({ op: "keepAlive", lease })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(leaseArb, fc.boolean())
      .map(([lease, keys]): TimeToLiveOp => ({ op: "timeToLive", lease, keys })),
  },
  { weight: 1, arbitrary: fc.constant<LeasesOp>({ op: "leases" }) },
  { weight: 1, arbitrary: keyArb.map((key): HugePutOp => ({ op: "hugePut", key })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(128, 129)
      .map((count): ManyOpsTxnOp => ({ op: "manyOpsTxn", count })),
  },
);

/** A run: up to `maxOps` operations. */
export function runArb(maxOps: number): fc.Arbitrary<Op[]> {
  return fc.array(opArb, { minLength: 1, maxLength: maxOps, size: "max" });
}
