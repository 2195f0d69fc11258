/**
 * Bytes arriving from a member, seen on the TCP connections under gRPC: the sign that
 * tells a busy link from a frozen member. A watch message or a page of a range read can
 * take seconds to arrive whole on a slow link, and an answer to a progress request queues
 * behind it (RELIABILITY.md, trap 22); but while the member sends, bytes arrive.
 *
 * gRPC (grpc-js) opens its connections with `net.connect`, which Node reports on the
 * `net.client.socket` diagnostics channel: this module subscribes once, when it is first
 * imported, and counts what each socket has read (`socket.bytesRead`, which counts TLS
 * records too). Connections opened before the library was imported are not seen: then
 * there is no evidence, and callers fall back to plain timeouts.
 *
 * @module
 */

import { subscribe } from "node:diagnostics_channel";
import type { Socket } from "node:net";
import { isIP } from "node:net";

/** Open client sockets of the process; closed ones are pruned as the set grows. */
const sockets = new Set<Socket>();
let pruneAt = 64;

subscribe("net.client.socket", (message) => {
  const socket = (message as { socket?: unknown } | null)?.socket;
  if (!isSocket(socket)) return;
  sockets.add(socket);
  if (sockets.size >= pruneAt) {
    for (const open of sockets) if (open.destroyed) sockets.delete(open);
    pruneAt = Math.max(64, sockets.size * 2);
  }
});

function isSocket(value: unknown): value is Socket {
  return typeof value === "object" && value !== null && "bytesRead" in value;
}

/**
 * Says whether bytes arrived from a member since it was last asked: `true` when any
 * connection to the member read bytes since the previous call (or since the checker was
 * made), `false` when none did, `undefined` when no open connection to the member is
 * known (no evidence either way). Stateful: one per waiter (two waiters sharing one
 * would each see only the bytes since the other last asked).
 */
export type ProgressCheck = () => boolean | undefined;

/**
 * A {@link ProgressCheck} for `member`, written as in the client's `hosts` without the
 * scheme (`127.0.0.1:2379`, `[::1]:2379`, `etcd-0.example:2379`). An IP address matches
 * connections to that address and port; a host name matches connections to its port
 * (the name was resolved by gRPC, and several members on one port of one machine are
 * rare). Undefined when `member` cannot be parsed.
 */
export function progressFrom(member: string | undefined): ProgressCheck | undefined {
  const target = member === undefined ? undefined : parseMember(member);
  if (target === undefined) return undefined;
  const matches = (socket: Socket): boolean =>
    !socket.destroyed &&
    socket.remotePort === target.port &&
    (target.address === undefined || normalize(socket.remoteAddress) === target.address);
  const seen = new WeakMap<Socket, number>();
  for (const socket of sockets) if (matches(socket)) seen.set(socket, socket.bytesRead);
  return () => {
    let known = false;
    let progressed = false;
    for (const socket of sockets) {
      if (!matches(socket)) continue;
      known = true;
      const read = socket.bytesRead;
      if (read > (seen.get(socket) ?? 0)) progressed = true;
      seen.set(socket, read);
    }
    return known ? progressed : undefined;
  };
}

/** The port and, for an IP literal, the address of `host:port`. */
function parseMember(member: string): { port: number; address: string | undefined } | undefined {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(member);
  if (match === null) return undefined;
  const host = match[1] as string;
  const port = Number(match[2]);
  return { port, address: isIP(host) === 0 ? undefined : normalize(host) };
}

/** `::ffff:127.0.0.1` → `127.0.0.1`; lower case. */
function normalize(address: string | undefined): string | undefined {
  return address?.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
}
