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

/** A server that sends `bytes` to each connection at once and counts what it receives. */
async function blobBehindProxy(
  t: ExecutionContext,
  bytes: number,
): Promise<{ proxy: TcpProxy; uploaded: () => number; nextUpload: () => Promise<void> }> {
  let received = 0;
  const arrivals = new Set<() => void>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      for (const wake of arrivals) wake();
      arrivals.clear();
    });
    socket.write(Buffer.alloc(bytes, 7));
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
  return {
    proxy,
    uploaded: () => received,
    nextUpload: () => new Promise<void>((resolve) => arrivals.add(resolve)),
  };
}

/** Connects to `proxy` and resolves with the ms it took to receive `bytes`. */
async function download(t: ExecutionContext, proxy: TcpProxy, bytes: number): Promise<number> {
  const started = performance.now();
  const socket = tcpConnect({ host: "127.0.0.1", port: proxy.port });
  t.teardown(() => socket.destroy());
  let received = 0;
  for await (const chunk of socket) {
    received += (chunk as Buffer).length;
    if (received >= bytes) break;
  }
  return performance.now() - started;
}

const KIB = 1024;

test("setRate toClient: a download takes at least (size - burst) / rate, and not far more", async (t) => {
  const size = 192 * KIB;
  const { proxy } = await blobBehindProxy(t, size);
  proxy.setRate("toClient", { bytesPerSecond: 512 * KIB, burstBytes: 16 * KIB });
  const ms = await download(t, proxy, size);
  const floor = ((size - 16 * KIB) / (512 * KIB)) * 1000; // 344 ms
  t.true(ms >= floor - 20, `no faster than the rate allows: ${ms.toFixed(0)} ms ≥ ${floor} ms`);
  t.true(ms < floor * 4, `close to the rate: ${ms.toFixed(0)} ms < ${floor * 4} ms`);
});

test("setRate toClient: the burst passes at once after an idle spell", async (t) => {
  const size = 64 * KIB;
  const { proxy } = await blobBehindProxy(t, size);
  // At 8 KiB/s, 64 KiB would take 8 s; a 64 KiB burst lets it through at once.
  proxy.setRate("toClient", { bytesPerSecond: 8 * KIB, burstBytes: 64 * KIB });
  const ms = await download(t, proxy, size);
  t.true(ms < 4000, `the burst is not throttled: ${ms.toFixed(0)} ms`);
});

test("setRate toMember: uploads are throttled while downloads are not", async (t) => {
  const size = 128 * KIB;
  const { proxy, uploaded, nextUpload } = await blobBehindProxy(t, size);
  proxy.setRate("toMember", { bytesPerSecond: 256 * KIB, burstBytes: 16 * KIB });
  const socket = tcpConnect({ host: "127.0.0.1", port: proxy.port });
  t.teardown(() => socket.destroy());
  const started = performance.now();
  socket.write(Buffer.alloc(size, 1));
  let downloaded = 0;
  let downloadMs = 0;
  const downloading = new Promise<void>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      downloaded += chunk.length;
      if (downloaded < size) return;
      downloadMs = performance.now() - started;
      resolve();
    });
  });
  while (uploaded() < size) await nextUpload();
  const uploadMs = performance.now() - started;
  await downloading;
  const floor = ((size - 16 * KIB) / (256 * KIB)) * 1000; // 437 ms
  t.true(uploadMs >= floor - 20, `upload at the rate: ${uploadMs.toFixed(0)} ms ≥ ${floor} ms`);
  t.true(
    downloadMs < uploadMs,
    `the other direction is not throttled: download ${downloadMs.toFixed(0)} ms < upload ${uploadMs.toFixed(0)} ms`,
  );
});

test("setRate: a black hole holds throttled bytes, and pass delivers them at the rate", async (t) => {
  const { proxy } = await echoBehindProxy(t);
  proxy.setRate("toClient", { bytesPerSecond: 64 * KIB });
  const c = await client(t, proxy);
  c.socket.write("before ");
  await echoed(c, "before ");
  proxy.setMode("blackhole");
  c.socket.write("held");
  await flush();
  await flush();
  t.is(c.received(), "before ", "nothing passes the black hole");
  proxy.setMode("pass");
  await echoed(c, "held");
  t.is(c.received(), "before held", "held bytes flow once the link passes");
});

test("setRate undefined: lifts the limit, also for bytes already queued", async (t) => {
  const size = 256 * KIB;
  const { proxy } = await blobBehindProxy(t, size);
  // 1 KiB/s: the download would take minutes.
  proxy.setRate("toClient", { bytesPerSecond: KIB, burstBytes: KIB });
  const downloading = download(t, proxy, size);
  await flush();
  proxy.setRate("toClient", undefined);
  const ms = await downloading;
  t.true(ms < 10_000, `unthrottled, the download finishes: ${ms.toFixed(0)} ms`);
});

test("setRate: a rate that is not positive is a RangeError", async (t) => {
  const { proxy } = await echoBehindProxy(t);
  t.throws(() => proxy.setRate("toClient", { bytesPerSecond: 0 }), { instanceOf: RangeError });
});
