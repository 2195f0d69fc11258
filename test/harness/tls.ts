import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeDataDir, removeDataDir } from "./data-dir.js";
import { EtcdUnavailableError } from "./errors.js";

/**
 * Certificates for a TLS cluster, generated at test time with the `openssl` command (a
 * few EC P-256 keys: ~50 ms in all). Nothing is checked in; everything lives in a
 * temporary directory deleted with the cluster (or when the worker exits).
 *
 * - `ca`: the CA the members trust (`--trusted-ca-file`) and the clients trust.
 * - `server`: the members' certificate, signed by `ca`, for `127.0.0.1` and `localhost`
 *   (server and client use, so it would serve peer TLS too).
 * - `client`: a client certificate signed by `ca`: accepted by `--client-cert-auth`.
 * - `otherCa`, `otherClient`: an unrelated CA and a client certificate it signed: a
 *   member refuses that certificate, and a client that trusts only `otherCa` refuses the
 *   members' certificate.
 */
export interface TlsMaterial {
  /** The directory holding every file below. */
  readonly dir: string;
  readonly ca: TlsFile;
  readonly server: TlsKeyPair;
  readonly client: TlsKeyPair;
  readonly otherCa: TlsFile;
  readonly otherClient: TlsKeyPair;
}

/** One PEM file: its path and its content. */
export interface TlsFile {
  readonly file: string;
  readonly pem: Buffer;
}

/** A certificate (PEM, `cert`) and its private key (PEM, `key`). */
export interface TlsKeyPair {
  readonly cert: TlsFile;
  readonly key: TlsFile;
}

/** What the harness's own HTTPS control calls present: a CA to trust and a client certificate. */
export interface HttpsClientTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

const run = promisify(execFile);

/** What to tell a developer without `openssl`. */
export const OPENSSL_INSTALL_HINT =
  "TLS tests generate certificates with the `openssl` command, which was not found. " +
  "Install it: `apt-get install -y openssl` (Debian/Ubuntu).";

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  try {
    await run("openssl", args, { cwd: dir, timeout: 30_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new EtcdUnavailableError(OPENSSL_INSTALL_HINT, { cause: error });
    }
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args.join(" ")} failed: ${stderr}`, { cause: error });
  }
}

async function pemFile(dir: string, name: string): Promise<TlsFile> {
  const file = join(dir, name);
  return { file, pem: await readFile(file) };
}

/** A self-signed CA named `name` (files `${name}.crt`, `${name}.key`). */
async function makeCa(dir: string, name: string): Promise<TlsKeyPair> {
  await openssl(dir, [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2"],
    ...["-subj", `/CN=event-value test ${name}`],
  ]);
  return { cert: await pemFile(dir, `${name}.crt`), key: await pemFile(dir, `${name}.key`) };
}

/** A certificate `name` signed by the CA `ca`, with `san` and extended key `usage`. */
async function makeCert(
  dir: string,
  name: string,
  ca: string,
  san: string,
  usage: string,
): Promise<TlsKeyPair> {
  await openssl(dir, [
    ...["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=event-value test ${name}`],
  ]);
  await writeFile(
    join(dir, `${name}.ext`),
    `subjectAltName=${san}\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`,
  );
  await openssl(dir, [
    ...["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`],
    ...["-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`],
  ]);
  return { cert: await pemFile(dir, `${name}.crt`), key: await pemFile(dir, `${name}.key`) };
}

/**
 * Generates a fresh {@link TlsMaterial} in a new temporary directory. Throws an
 * `EtcdUnavailableError` saying how to install `openssl` when it is missing.
 */
export async function makeTlsMaterial(): Promise<TlsMaterial> {
  const dir = await makeDataDir("tls");
  try {
    const [ca, otherCa] = await Promise.all([makeCa(dir, "ca"), makeCa(dir, "other-ca")]);
    const [server, client, otherClient] = await Promise.all([
      makeCert(dir, "server", "ca", "IP:127.0.0.1,DNS:localhost", "serverAuth,clientAuth"),
      makeCert(dir, "client", "ca", "DNS:event-value-client", "clientAuth"),
      makeCert(dir, "other-client", "other-ca", "DNS:event-value-client", "clientAuth"),
    ]);
    return { dir, ca: ca.cert, server, client, otherCa: otherCa.cert, otherClient };
  } catch (error) {
    await removeDataDir(dir);
    throw error;
  }
}

/** Deletes the material's directory. */
export function removeTlsMaterial(material: TlsMaterial): Promise<void> {
  return removeDataDir(material.dir);
}

/** The etcd flags serving clients over TLS with `material`, client certificates required. */
export function tlsServerArgs(material: TlsMaterial): string[] {
  return [
    `--cert-file=${material.server.cert.file}`,
    `--key-file=${material.server.key.file}`,
    `--trusted-ca-file=${material.ca.file}`,
    "--client-cert-auth",
  ];
}

/** What the harness's HTTPS control calls present: trust `ca`, show the `client` certificate. */
export function httpsClientTls(material: TlsMaterial): HttpsClientTls {
  return { ca: material.ca.pem, cert: material.client.cert.pem, key: material.client.key.pem };
}

/**
 * etcd3 `credentials` trusting `ca` and presenting `pair` (none: no client certificate).
 * Defaults: the trusted CA and the accepted client certificate.
 */
export function etcdCredentials(
  material: TlsMaterial,
  options: { ca?: TlsFile; pair?: TlsKeyPair | null } = {},
): { rootCertificate: Buffer; certChain?: Buffer; privateKey?: Buffer } {
  const ca = options.ca ?? material.ca;
  const pair = options.pair === undefined ? material.client : options.pair;
  if (pair === null) return { rootCertificate: ca.pem };
  return { rootCertificate: ca.pem, certChain: pair.cert.pem, privateKey: pair.key.pem };
}
