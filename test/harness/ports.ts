import { createServer } from "node:net";

/**
 * Ports for etcd members: random, in 20000–31999, free when probed.
 *
 * Below 32768 on purpose: ports in the kernel's ephemeral range collide with outgoing
 * connections, and a member then dies at start with "address already in use". A probe
 * only shows the port was free a moment ago, so callers still retry a start that fails
 * that way. Ports handed out once are never handed out again by this process.
 */

const LOW = 20000;
const HIGH = 32000;
const handedOut = new Set<number>();

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** Returns `count` distinct ports that were free on 127.0.0.1 when probed. */
export async function pickFreePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 1000) throw new Error(`no free port found in ${LOW}–${HIGH - 1} after 1000 tries`);
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await isFree(port)) ports.push(port);
  }
  return ports;
}
