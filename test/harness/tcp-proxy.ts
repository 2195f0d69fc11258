import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { LinkDirection, type LinkRate } from "./link-throttle.js";

export type { LinkRate } from "./link-throttle.js";

/**
 * A TCP proxy in front of one etcd member's client port, so a test can break the link
 * between a client and that member without touching the member: clients under test
 * connect to the proxy; the members' peer traffic does not go through it.
 *
 * Modes (see {@link TcpProxy.setMode}):
 * - `pass`: bytes flow both ways. Connections held by a black hole resume where they
 *   stopped (a healed partition: nothing was lost, only delayed).
 * - `drop`: every open connection is reset (RST to the client), and new connections are
 *   reset as soon as they are accepted, as by a host that refuses them.
 * - `oneway`: bytes flow from clients to the member only: requests arrive and are served,
 *   the member's answers are held (read no more), as by a link that loses the way back.
 *   On `pass` the held answers flow, late.
 * - `blackhole`: nothing flows and nothing closes. Open connections stop being read in
 *   either direction (the kernels' buffers fill, then TCP's window closes); new ones are
 *   accepted and never answered. A member dying meanwhile is not reported to the client
 *   until the link passes again.
 *
 * Independently of the mode, each direction of the link can be throttled (see
 * {@link TcpProxy.setRate}), as a slow network link shared by every connection.
 */
export type LinkMode = "pass" | "drop" | "blackhole" | "oneway";

const HOST = "127.0.0.1";

/** One client connection and its upstream connection to the member. */
interface Pair {
  readonly client: Socket;
  /** Undefined while the connection is held (accepted during a black hole). */
  upstream: Socket | undefined;
  /** The upstream connection closed while the link was black-holed: report it on pass. */
  upstreamGone: boolean;
}

/** A proxy from a port of its own on 127.0.0.1 to `targetPort` on 127.0.0.1. */
export class TcpProxy {
  /** The proxy's own port (chosen by the kernel, fixed for the proxy's life). */
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the URL clients use instead of the member's. */
  readonly url: string;
  readonly #server: Server;
  readonly #targetPort: number;
  readonly #pairs = new Set<Pair>();
  /** Every socket not yet closed, ours and the clients', for `close()`. */
  readonly #sockets = new Set<Socket>();
  #mode: LinkMode = "pass";
  #closed = false;
  /** Member → client bytes. */
  readonly #toClient = new LinkDirection(() => this.#mode === "pass");
  /** Client → member bytes. */
  readonly #toMember = new LinkDirection(() => this.#mode === "pass" || this.#mode === "oneway");

  private constructor(server: Server, targetPort: number) {
    this.#server = server;
    this.#targetPort = targetPort;
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("proxy has no port");
    this.port = address.port;
    this.url = `http://${HOST}:${this.port}`;
  }

  /** Starts a proxy to `targetPort` on 127.0.0.1, in mode `pass`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: HOST, port: 0 }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const proxy = new TcpProxy(server, targetPort);
    server.on("connection", (socket) => proxy.#accept(socket));
    return proxy;
  }

  /** The current mode. */
  get mode(): LinkMode {
    return this.#mode;
  }

  /** How many client connections are open (held ones included). */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Switches the link to `mode` (see {@link LinkMode}); takes effect at once. */
  setMode(mode: LinkMode): void {
    if (this.#closed) throw new Error("the proxy is closed");
    this.#mode = mode;
    for (const pair of [...this.#pairs]) {
      if (mode === "drop") this.#reset(pair);
      else if (mode === "pass") this.#flow(pair);
      else if (mode === "oneway") this.#oneway(pair);
      else this.#hold(pair);
    }
    if (mode === "pass") this.#toClient.pump();
    if (mode === "pass" || mode === "oneway") this.#toMember.pump();
  }

  /**
   * Limits one direction of the link (`toClient`: what the member sends; `toMember`:
   * what clients send) to `rate`, shared by every connection, or lifts the limit
   * (`undefined`). Takes effect at once, also for bytes already queued; the mode still
   * applies (a black hole holds throttled bytes too).
   */
  setRate(direction: "toClient" | "toMember", rate: LinkRate | undefined): void {
    if (this.#closed) throw new Error("the proxy is closed");
    (direction === "toClient" ? this.#toClient : this.#toMember).setRate(rate);
  }

  /** Stops listening and resets every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#toClient.close();
    this.#toMember.close();
    for (const pair of [...this.#pairs]) this.#reset(pair);
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
  }

  #accept(client: Socket): void {
    this.#track(client);
    if (this.#mode === "drop" || this.#closed) {
      client.on("error", () => {});
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: undefined, upstreamGone: false };
    this.#pairs.add(pair);
    client.setNoDelay(true);
    client.on("error", () => {}); // a reset by the client: `close` follows
    client.on("close", () => {
      this.#pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (this.#mode === "pass") this.#flow(pair);
    else if (this.#mode === "oneway") this.#oneway(pair);
    // blackhole: accepted (pauseOnConnect), never read, never answered.
  }

  /** Makes bytes flow both ways, connecting upstream first if the connection was held. */
  #flow(pair: Pair): void {
    if (pair.upstreamGone) {
      this.#reset(pair);
      return;
    }
    if (pair.upstream === undefined) pair.upstream = this.#connectUpstream(pair);
    pair.client.resume();
    pair.upstream.resume();
  }

  /** Requests flow to the member; its answers stay unread. */
  #oneway(pair: Pair): void {
    this.#flow(pair);
    pair.upstream?.pause();
  }

  #hold(pair: Pair): void {
    pair.client.pause();
    pair.upstream?.pause();
  }

  #reset(pair: Pair): void {
    this.#pairs.delete(pair);
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    pair.upstream?.destroy();
  }

  #connectUpstream(pair: Pair): Socket {
    const { client } = pair;
    const upstream = tcpConnect({ host: HOST, port: this.#targetPort });
    this.#track(upstream);
    upstream.setNoDelay(true);
    // Forward by hand rather than with pipe(): pipe() resumes a paused source on `drain`,
    // which would let bytes through a black hole.
    forward(client, upstream, this.#toMember);
    forward(upstream, client, this.#toClient);
    upstream.on("error", () => {}); // refused or reset by the member: `close` follows
    upstream.on("close", () => {
      if (!this.#pairs.has(pair)) return;
      if (this.#mode === "blackhole") {
        pair.upstreamGone = true; // nothing is reported through a black hole
        return;
      }
      // The member closed (or died): pass it on, after what it sent before. Resume the
      // client (it may be paused by backpressure) so its own close is noticed.
      this.#pairs.delete(pair);
      this.#toClient.end(upstream, client);
      client.resume();
    });
    return upstream;
  }
}

/** Copies `from` to `to` through `direction` (its mode, rate and backpressure). */
function forward(from: Socket, to: Socket, direction: LinkDirection): void {
  from.on("data", (chunk: Buffer) => {
    if (to.destroyed || to.writableEnded) return; // the other side is gone: discard
    direction.send(from, to, chunk);
  });
}

/** Starts one proxy per member client URL (`http://127.0.0.1:PORT`), in order. */
export async function proxyMembers(clientUrls: readonly string[]): Promise<TcpProxy[]> {
  const proxies: TcpProxy[] = [];
  try {
    for (const url of clientUrls) proxies.push(await TcpProxy.start(Number(new URL(url).port)));
  } catch (error) {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    throw error;
  }
  return proxies;
}
