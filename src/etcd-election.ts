/**
 * `EtcdElection`: leader election in etcd, with etcd's own key layout, a leader that is
 * an event value, and fenced proclamations.
 *
 * @module
 */

import type { Etcd3, Namespace } from "etcd3";
import { contend } from "./coordination/contend.js";
import { HeldKey } from "./coordination/held-key.js";
import { LeaderValue } from "./coordination/leader-value.js";
import type { OwnKey } from "./coordination/own-key.js";
import { fullKey, idempotentTxn } from "./coordination/txn.js";
import { requireEtcdClient } from "./etcd/port.js";
import { requireString } from "./etcd/value-options.js";
import { EtcdLease, requireTtl } from "./etcd-lease.js";
import type { Guard } from "./etcd-types/guard.js";
import type { Leader } from "./etcd-types/leader.js";
import { type Codec, codecs, runEncoder } from "./event/codecs.js";
import type { EventValue } from "./event/contract.js";

export type { Leader } from "./etcd-types/leader.js";

/** Options of {@link EtcdElection}. */
export interface EtcdElectionOptions<T> {
  /**
   * TTL in whole seconds of the lease each campaign grants for itself (when not given a
   * `lease`); default 10. A leader that dies without resigning is replaced about that
   * long after.
   */
  ttl?: number;
  /** Reads and writes the candidates' values; default `codecs.bytes`. */
  codec?: Codec<T>;
}

/** Options of {@link EtcdElection.campaign}. */
export interface CampaignOptions {
  /** Stops campaigning: the candidate's key is removed and `campaign` rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Campaign under this lease instead of a new one; `resign` then leaves it alive. A
   * lease that already campaigns in this election is refused (`TypeError`).
   */
  lease?: EtcdLease;
}

/**
 * This process's leadership: a {@link Guard} (`value.set(v, { guard: leadership })`
 * writes only while it leads), its term, and a signal.
 */
export interface Leadership<T> extends Guard, AsyncDisposable {
  /** `${name}/${lease ID in hex}`, relative to the client's namespace. */
  readonly key: string;
  /** The term: the key's create revision, greater for every later leader. */
  readonly createRevision: number;
  /** The lease the key lives under. */
  readonly lease: EtcdLease;
  /**
   * Aborts when leadership is lost (lease lost or revoked, key deleted) or resigned;
   * reason: a `LostError`. Advisory; reading it checks the lease's deadline first.
   */
  readonly signal: AbortSignal;
  /**
   * Sets the leader's value for every observer, only while this is still the leader's
   * key with this term (a fenced put). Rejects with the `LostError` of `signal` once
   * leadership is lost, and then changes nothing. Encoding failures reject with an
   * `EncodeError`. Transient faults are retried.
   */
  proclaim(value: T): Promise<void>;
  /**
   * Steps down: deletes the key only if it is still this term's, and revokes the lease if
   * the campaign granted it. Idempotent; transient faults are retried.
   */
  resign(): Promise<void>;
}

class Held<T> extends HeldKey implements Leadership<T> {
  readonly #client: Etcd3 | Namespace;
  readonly #own: OwnKey;
  readonly #codec: Codec<T>;

  constructor(
    client: Etcd3 | Namespace,
    own: OwnKey,
    ownsLease: boolean,
    codec: Codec<T>,
    what: string,
  ) {
    super(client, own, ownsLease, what);
    this.#client = client;
    this.#own = own;
    this.#codec = codec;
  }

  override get lease(): EtcdLease {
    return super.lease as EtcdLease; // the election only ever takes or grants an EtcdLease
  }

  async proclaim(value: T): Promise<void> {
    const encoded = Buffer.from(runEncoder(this.#codec.encode, value, this.key));
    this.signal.throwIfAborted();
    await proclaimFenced(this.#client, this.#own, encoded, this.signal);
  }

  resign(): Promise<void> {
    return this.releaseKey("resigned");
  }
}

/** Puts `value` on our key if it still has our create revision; else our key is gone. */
async function proclaimFenced(
  client: Etcd3 | Namespace,
  own: OwnKey,
  value: Buffer,
  signal: AbortSignal,
): Promise<void> {
  const key = fullKey(client, own.key);
  const response = await idempotentTxn(
    client,
    {
      compare: [{ key, target: "Create", result: "Equal", create_revision: own.createRevision }],
      success: [{ request_put: { key, value, lease: own.lease.id } }],
    },
    `etcd proclaim on ${JSON.stringify(own.key)}`,
    signal,
  );
  if (!response.succeeded) {
    own.keyGone();
    own.signal.throwIfAborted();
  }
}

/**
 * An election named `name`, with etcd's own recipe (Go's `concurrency.Election`): each
 * candidate writes its value at `${name}/${lease ID in hex}` under its lease, and the
 * key with the lowest create revision leads. So `etcdctl elect <name> <proposal>` and an
 * `EtcdElection` compete in one election, and `etcdctl elect -l <name>` sees the leader.
 *
 * - `campaign` waits in line like `EtcdLock.acquire` (the key just ahead, our own key,
 *   through faults) and resolves when this candidate leads.
 * - `leader()` is an event value of the current leader, for anyone (candidate or not).
 * - Every transient fault is retried; requests are idempotent (compares on create
 *   revisions).
 */
export class EtcdElection<T = Uint8Array> {
  readonly #client: Etcd3 | Namespace;
  readonly #name: string;
  readonly #ttl: number;
  readonly #codec: Codec<T>;
  #leader: LeaderValue<T> | undefined;

  /**
   * @param client an `Etcd3` client or a `Namespace`; keys are relative to it.
   * @param name the election's name (its keys' prefix before `/`).
   * @throws TypeError for a bad client, an empty name, a bad `ttl` or `codec`.
   */
  constructor(client: Etcd3 | Namespace, name: string, options: EtcdElectionOptions<T> = {}) {
    requireEtcdClient(client, "an Etcd3 client or a Namespace of one", true);
    if (requireString("name", name) === "") {
      throw new TypeError("Expected `name` to be a non-empty string, got ``");
    }
    const codec = options.codec ?? (codecs.bytes as unknown as Codec<T>);
    if (typeof codec?.decode !== "function" || typeof codec.encode !== "function") {
      throw new TypeError("Expected `codec` to be a Codec ({ decode, encode })");
    }
    this.#client = client;
    this.#name = name;
    this.#ttl = requireTtl(options.ttl);
    this.#codec = codec;
  }

  /**
   * The current leader, `undefined` while there is none: an event value with the whole
   * watcher contract (guarantees: see `Watcher.get`), surviving faults like every etcd
   * value. A watcher sees each change of leader (by key and term, even with an equal
   * value) and each proclamation, latest-wins. The same object every call; its watchers
   * share one etcd watch.
   */
  leader(): EventValue<Leader<T> | undefined> {
    this.#leader ??= new LeaderValue(this.#client, this.#name, this.#codec.decode);
    return this.#leader;
  }

  /**
   * Campaigns with `value` and resolves when this candidate leads.
   *
   * Abort: the candidate's key is removed (and the lease the campaign granted revoked),
   * and the call rejects with `signal.reason`. If the lease is lost or the key deleted
   * while waiting, it rejects with a `LostError`. A value the codec refuses rejects with
   * an `EncodeError` before anything is written.
   * @throws TypeError (rejects) when `lease` already campaigns in this election.
   */
  async campaign(value: T, options: CampaignOptions = {}): Promise<Leadership<T>> {
    const { lease, signal } = options;
    if (lease !== undefined && !(lease instanceof EtcdLease)) {
      throw new TypeError("Expected `lease` to be an EtcdLease");
    }
    const what = `election ${JSON.stringify(this.#name)}`;
    const encoded = Buffer.from(runEncoder(this.#codec.encode, value, `${this.#name}/`));
    const contended = await contend({
      client: this.#client,
      name: this.#name,
      value: encoded,
      what,
      lease: lease ?? (() => EtcdLease.grant(this.#client, { ttl: this.#ttl })),
      wait: true,
      signal,
    });
    if (contended === undefined)
      throw new Error("unreachable: a campaign always ends first in line");
    const held = new Held(this.#client, contended.own, contended.ownsLease, this.#codec, what);
    if (contended.existingValue !== undefined && !contended.existingValue.equals(encoded)) {
      await held.proclaim(value); // our key was there with another value: this campaign's wins
    }
    return held;
  }
}
