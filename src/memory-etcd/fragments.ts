/**
 * Splitting of large watch responses, as etcd 3.4.23's `sendFragments` does for a
 * watcher created with `fragment`: a response of at least the limit (max request
 * bytes + 512 KiB of gRPC overhead) with two or more events goes out in pieces, each
 * under the limit unless it holds a single event, all but the last marked `fragment`.
 *
 * @module
 */

import type { Plain } from "./wire-types.js";

/** The encoded size of a response. */
export type Sizer = (response: Plain) => number;

/** The pieces to send for `response` (just `[response]` when no split is due). */
export function fragments(response: Plain, limit: number, size: Sizer): Plain[] {
  const events = (response.events ?? []) as Plain[];
  if (events.length < 2 || size(response) < limit) return [response];
  const base = size({ ...response, events: [] });
  // Repeated fields encode one after the other: a piece's size is the sum.
  const eventSizes = events.map((event) => size({ ...response, events: [event] }) - base);
  const pieces: Plain[] = [];
  let index = 0;
  while (index < events.length) {
    const piece: Plain[] = [];
    let bytes = base;
    while (index < events.length) {
      const next = bytes + (eventSizes[index] as number);
      if (piece.length > 0 && next + 2 >= limit) break;
      piece.push(events[index] as Plain);
      bytes = next;
      index++;
    }
    pieces.push({ ...response, events: piece, fragment: index < events.length });
  }
  return pieces;
}
