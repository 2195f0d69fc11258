/**
 * The chaos test's TCP proxy (`test/harness/tcp-proxy.ts`) against a local echo server:
 * `pass` forwards, `drop` resets open connections and refuses new ones, `blackhole` holds
 * bytes and closes without a word, and `pass` again delivers what was held.
 */

import { once } from "node:events";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import test, { type ExecutionContext } from "ava";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { flush } from "../helpers/pending.js";

/** An echo server on 127.0.0.1 and a proxy in front of it, both closed after the test. */
async function echoBehindProxy(
  t: ExecutionContext,
): Promise<{ proxy: TcpProxy; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.pipe(socket);
  });
  server.listen({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const proxy = await TcpProxy.start(address.port);
  t.teardown(async () => {
    await proxy.close();
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { proxy, server, sockets };
}

/** A client connection to the proxy that collects what it receives. */
async function client(
  t: ExecutionContext,
  proxy: TcpProxy,
): Promise<{ socket: Socket; received: () => string; closed: Promise<string> }> {
  const socket = tcpConnect({ host: "127.0.0.1", port: proxy.port });
  t.teardown(() => socket.destroy());
  let data = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    data += chunk;
  });
  const closed = new Promise<string>((resolve) => {
    let error = "";
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error = e.code ?? String(e);
    });
    socket.on("close", () => resolve(error || "closed"));
  });
  await once(socket, "connect");
  return { socket, received: () => data, closed };
}

/** Waits until `c` has received `text` (the echo), awaiting data events. */
async function echoed(c: { socket: Socket; received: () => string }, text: string): Promise<void> {
  while (!c.received().includes(text)) await once(c.socket, "data");
}

test("pass: bytes flow both ways", async (t) => {
  const { proxy } = await echoBehindProxy(t);
  const c = await client(t, proxy);
  c.socket.write("hello");
  await echoed(c, "hello");
  t.is(c.received(), "hello");
});

test("drop: open connections are reset, new ones refused", async (t) => {
  const { proxy } = await echoBehindProxy(t);
  const c = await client(t, proxy);
  c.socket.write("a");
  await echoed(c, "a");
  proxy.setMode("drop");
  t.is(await c.closed, "ECONNRESET", "the open connection is reset");
  const late = tcpConnect({ host: "127.0.0.1", port: proxy.port });
  const outcome = await new Promise<string>((resolve) => {
    late.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
    late.on("close", () => resolve("closed"));
  });
  t.is(outcome, "ECONNRESET", "a new connection is reset as soon as it is accepted");
  t.is(proxy.connections, 0);
});

test("blackhole: bytes are held, not lost; pass delivers them", async (t) => {
  const { proxy } = await echoBehindProxy(t);
  const open = await client(t, proxy);
  open.socket.write("before ");
  await echoed(open, "before ");
  proxy.setMode("blackhole");
  open.socket.write("held");
  const fresh = await client(t, proxy); // accepted, never answered
  fresh.socket.write("fresh");
  await flush();
  await flush();
  t.is(open.received(), "before ", "nothing passes the black hole");
  t.is(fresh.received(), "");
  proxy.setMode("pass");
  await echoed(open, "held");
  await echoed(fresh, "fresh");
  t.is(open.received(), "before held", "held bytes flow once the link passes");
});

test("blackhole: the member closing is not reported until the link passes", async (t) => {
  const { proxy, sockets } = await echoBehindProxy(t);
  const c = await client(t, proxy);
  c.socket.write("x");
  await echoed(c, "x");
  proxy.setMode("blackhole");
  for (const socket of sockets) socket.destroy(); // the member dies
  await flush();
  await flush();
  t.false(c.socket.destroyed, "the client is not told through a black hole");
  proxy.setMode("pass");
  t.regex(await c.closed, /^(closed|ECONNRESET)$/, "it is told once the link passes");
});
