/**
 * How many keys to ask for per page of a range read: small at first, then sized from the
 * pages already read so that a page holds about {@link PAGE_BYTES} and takes about
 * {@link PAGE_MS} on the link as measured. A page too large for the client is halved, as
 * is one abandoned for silence; a page of one key is always asked for eventually.
 *
 * @module
 */

/** Keys asked for in a range's first page, before anything is known of its values. */
export const FIRST_PAGE_KEYS = 64;
/** Bytes a page aims at: a quarter of gRPC's default 4 MiB receive limit. */
export const PAGE_BYTES = 1024 * 1024;
/** Time a page aims at, in ms, at the rate the previous page arrived. */
export const PAGE_MS = 1000;
/** A page grows at most this many times per page (values may grow along the range). */
const GROWTH = 4;

/**
 * The page size of one range, learned from its pages and remembered across its reads (a
 * resync starts at the size the last read ended with). Not shared between ranges (but by
 * single keys, which are never paged).
 */
export class PageSizer {
  readonly #maxKeys: number;
  #limit: number;

  /** `maxKeys`: the most keys per page, whatever their size (at least 1). */
  constructor(maxKeys: number) {
    this.#maxKeys = Math.max(1, Math.floor(maxKeys));
    this.#limit = Math.min(this.#maxKeys, FIRST_PAGE_KEYS);
  }

  /** Keys to ask for in the next page (1 to `maxKeys`). */
  get limit(): number {
    return this.#limit;
  }

  /**
   * A page asked for with `limit` keys brought `keys` keys, `bytes` bytes of keys and
   * values, `ms` after it was asked for: size the next one.
   */
  fitted(limit: number, keys: number, bytes: number, ms: number): void {
    if (keys === 0 || bytes === 0) return;
    const perKey = bytes / keys;
    const bytesPerMs = bytes / Math.max(1, ms);
    const budget = Math.min(PAGE_BYTES, bytesPerMs * PAGE_MS);
    const fits = Math.floor(budget / perKey);
    this.#limit = Math.max(1, Math.min(this.#maxKeys, limit * GROWTH, fits));
  }

  /** A page of `limit` keys exceeded the client's receive limit, or was abandoned: halve. */
  shrink(limit: number): void {
    this.#limit = Math.max(1, Math.min(this.#limit, Math.floor(limit / 2)));
  }
}
