/**
 * README example: a client for etcd with TLS (client certificates) and auth (a user and
 * password). Run against such a cluster:
 * `ETCD_ENDPOINTS=https://127.0.0.1:2379 ETCD_CA_FILE=ca.crt ETCD_CERT_FILE=client.crt
 * ETCD_KEY_FILE=client.key ETCD_USER=reader ETCD_PASSWORD=… node --import tsx
 * examples/secure-client.ts`. Reads `/secure/config` once through an `EtcdValue`.
 *
 * The parts between `// #region NAME` and `// #endregion` are copied into README.md
 * (with `../src/index.js` written as `event-value`); test/unit/examples.test.ts checks
 * that they match, test/etcd/secure-client.test.ts runs this file against a member with
 * TLS, `--client-cert-auth` and auth enabled.
 *
 * @module
 */

// #region imports
import { readFileSync } from "node:fs";
import { createEtcdClient, decoders, EtcdValue } from "../src/index.js";
// #endregion

export async function main(): Promise<void> {
  // #region client
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`Set the environment variable ${name}`);
    return value;
  };
  const client = createEtcdClient({
    hosts: env("ETCD_ENDPOINTS").split(","), // https:// URLs
    credentials: {
      rootCertificate: readFileSync(env("ETCD_CA_FILE")), // the CA of the members' certificates
      certChain: readFileSync(env("ETCD_CERT_FILE")), // this client's certificate, and
      privateKey: readFileSync(env("ETCD_KEY_FILE")), // its key (for --client-cert-auth)
    },
    auth: { username: env("ETCD_USER"), password: env("ETCD_PASSWORD") },
  });
  const config = new EtcdValue(client, "/secure/config", { decoder: decoders.text });
  const watcher = config.watch();
  console.log(`secure-client: /secure/config is ${await watcher.get()}`);
  watcher.close();
  client.close();
  // #endregion
}

if (process.argv[1] === import.meta.filename) await main();
