/**
 * Which connection failures are permanent: a TLS handshake refused over a certificate
 * is; a connection refused, reset or dropped (also in the middle of a TLS handshake) is
 * not. The messages are those grpc-js and etcd3 gave against etcd 3.4.23 with Node 20
 * (test/etcd/tls.test.ts makes the real ones).
 */

import test from "ava";
import { ClientClosedError, GRPCUnavailableError } from "etcd3";
import { isPermanentFailure, isTlsCertificateFailure } from "../../src/etcd/classify.js";

const unavailable = (lastError: string): GRPCUnavailableError =>
  new GRPCUnavailableError(
    `14 UNAVAILABLE: No connection established. Last error: ${lastError}. Resolution note: `,
  );

const permanent: Record<string, string> = {
  "our certificate refused by the member (etcd --client-cert-auth)":
    "80AC0F14167F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n (2026-11-21T21:43:04.034Z)",
  "no certificate, TLS 1.3 server":
    "error:0A00045C:SSL routines::tlsv13 alert certificate required",
  "our CA unknown to the server": "error:0A000418:SSL routines::tlsv1 alert unknown ca",
  "our certificate expired": "error:0A000415:SSL routines::sslv3 alert certificate expired",
  "the member's certificate from a CA we do not trust":
    "Error: unable to verify the first certificate",
  "a self-signed member certificate": "Error: self-signed certificate",
  "a member chain ending in an untrusted root":
    "Error: self-signed certificate in certificate chain",
  "a member certificate for another name":
    "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: wrong.example. is not in the cert's altnames: IP Address:127.0.0.1, DNS:localhost",
  "the member's certificate expired": "Error: certificate has expired",
};

const transient: Record<string, string> = {
  "nothing listens": "Error: connect ECONNREFUSED 127.0.0.1:26379",
  "a TLS client on a plain-HTTP member, or a member restarting mid-handshake":
    "Error: Client network socket disconnected before secure TLS connection was established",
  "a plain client on a TLS member": "Failed to connect (2026-11-21T21:40:19.813Z)",
  "a reset connection": "Error: read ECONNRESET",
};

for (const [what, message] of Object.entries(permanent)) {
  test(`classify: a TLS certificate failure is permanent: ${what}`, (t) => {
    const error = unavailable(message);
    t.true(isTlsCertificateFailure(error), message);
    t.true(isPermanentFailure(error), "no retry can mend it");
  });
}

for (const [what, message] of Object.entries(transient)) {
  test(`classify: a connection failure without a certificate problem is transient: ${what}`, (t) => {
    const error = unavailable(message);
    t.false(isTlsCertificateFailure(error), message);
    t.false(isPermanentFailure(error), "retried");
  });
}

test("classify: Connection dropped and an open circuit breaker stay transient; a closed client is permanent", (t) => {
  t.false(isPermanentFailure(new GRPCUnavailableError("14 UNAVAILABLE: Connection dropped")));
  const broken = new Error("Execution prevented because the circuit breaker is open");
  broken.name = "BrokenCircuitError";
  t.false(isPermanentFailure(broken));
  t.true(isPermanentFailure(new ClientClosedError("Watch")));
  t.false(isTlsCertificateFailure("sslv3 alert bad certificate"), "only errors, not strings");
});
