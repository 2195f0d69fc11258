/**
 * The README's TLS + auth client (examples/secure-client.ts) against a member that
 * requires client certificates (`--client-cert-auth`) and has auth enabled: the example
 * runs in a child process, as a user would run it, reads a key the user may read, and
 * exits by itself.
 */

import test from "ava";
import { withCluster } from "../harness/ava.js";
import { enableAuth, READER, ROOT } from "../helpers/auth.js";
import { checkLeaks } from "../helpers/leaks.js";
import { describeChild, exitedByItself, runNode } from "../helpers/run-node.js";

const cluster = withCluster(test, { members: 1, tls: true });
checkLeaks(test, cluster);

test("example: examples/secure-client.ts reads over TLS with a client certificate and a user", async (t) => {
  await enableAuth(cluster().client(), ["/secure/"]);
  const root = cluster().client({ auth: ROOT });
  await root.put("/secure/config").value("hello over TLS");
  root.close();
  const tls = cluster().tls!;
  const result = await runNode("examples/secure-client.ts", {
    ETCD_ENDPOINTS: cluster().endpoints.join(","),
    ETCD_CA_FILE: tls.ca.file,
    ETCD_CERT_FILE: tls.client.cert.file,
    ETCD_KEY_FILE: tls.client.key.file,
    ETCD_USER: READER.username,
    ETCD_PASSWORD: READER.password,
  });
  t.true(exitedByItself(result), `must exit by itself with code 0: ${describeChild(result)}`);
  t.regex(result.stdout, /^secure-client: \/secure\/config is hello over TLS$/m);
});
