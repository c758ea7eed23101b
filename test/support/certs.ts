import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A certificate and its private key, as files on disk and as the PEM bytes a client needs. */
export interface Issued {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A throwaway certificate authority: a self-signed CA certificate and its key. */
export type Authority = Issued & { readonly name: string };

/** Throwaway PKI in a temporary directory, built with the `openssl` CLI. */
export interface TestPki {
  readonly dir: string;
  /** A new self-signed CA named `name` (its common name is `pos-ingest test CA <name>`). */
  authority(name: string): Authority;
  /**
   * A leaf certificate signed by `ca`. A server certificate is for "localhost" with
   * subjectAltName DNS:localhost and IP:127.0.0.1 (clients check the SAN, not the CN); a client
   * certificate carries extendedKeyUsage clientAuth, which a TLS server checks.
   */
  issue(ca: Authority, name: string, usage: "server" | "client"): Issued;
  /** Deletes the directory and everything in it. */
  remove(): void;
}

const DAYS = "2";

/** Creates a {@link TestPki} in a fresh `mkdtemp` directory; call `remove()` when done. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "pos-ingest-pki-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const read = (certFile: string, keyFile: string): Issued => ({
    certFile,
    keyFile,
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
  });
  // P-256 keys: generated in milliseconds, unlike RSA, and accepted by every TLS stack involved.
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

  return {
    dir,
    authority(name) {
      const certFile = join(dir, `ca-${name}.crt`);
      const keyFile = join(dir, `ca-${name}.key`);
      // A config of our own, so the result does not depend on the host's openssl.cnf defaults.
      const config = join(dir, `ca-${name}.cnf`);
      writeFileSync(
        config,
        [
          "[req]",
          "distinguished_name = dn",
          "x509_extensions = v3_ca",
          "prompt = no",
          "[dn]",
          `CN = pos-ingest test CA ${name}`,
          "[v3_ca]",
          "basicConstraints = critical, CA:TRUE",
          "keyUsage = critical, keyCertSign, cRLSign",
          "subjectKeyIdentifier = hash",
          "",
        ].join("\n"),
      );
      openssl(
        "req",
        "-x509",
        ...newKey,
        "-config",
        config,
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        DAYS,
      );
      return { name, ...read(certFile, keyFile) };
    },
    issue(ca, name, usage) {
      const base = join(dir, `${name}`);
      const extFile = `${base}.ext`;
      writeFileSync(
        extFile,
        [
          "basicConstraints = critical, CA:FALSE",
          "keyUsage = critical, digitalSignature",
          `extendedKeyUsage = ${usage === "server" ? "serverAuth" : "clientAuth"}`,
          "authorityKeyIdentifier = keyid",
          ...(usage === "server" ? ["subjectAltName = DNS:localhost, IP:127.0.0.1"] : []),
          "",
        ].join("\n"),
      );
      const cn = usage === "server" ? "localhost" : name;
      openssl(
        "req",
        "-new",
        ...newKey,
        "-subj",
        `/CN=${cn}`,
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
      );
      openssl(
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        ca.certFile,
        "-CAkey",
        ca.keyFile,
        "-set_serial",
        `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
        "-extfile",
        extFile,
        "-days",
        DAYS,
        "-out",
        `${base}.crt`,
      );
      return read(`${base}.crt`, `${base}.key`);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
