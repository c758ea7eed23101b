import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createSecureContext, createServer, type Server, type TLSSocket } from "node:tls";
import type { experimental } from "@grpc/grpc-js";
import type { Config } from "../config/index.js";

type TlsSettings = NonNullable<Config["tls"]>;

/** The PEM files TLS serves, read together so a certificate is never paired with a stale key. */
interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The CA that signs client certificates; present only with mutual TLS. */
  readonly ca: Buffer | undefined;
}

/**
 * A TLS server for the gRPC port (plaintext stays local use): TLS from certificate files, mutual
 * TLS when a client CA is given. TLS ends in this process rather than in grpc-js, so each
 * connection's HTTP/2 frames pass the frame guard before grpc-js sees them (grpc-js's own TLS
 * leaves no point to put it). ALPN offers only h2, as gRPC requires.
 *
 * The files are read and checked here, so a missing file, a key that does not match its
 * certificate, or an unparsable CA stops start-up with a message naming the file, rather than a
 * server that starts and drops every connection. Afterwards they are re-read every
 * `reloadIntervalMs` while the server listens, so a renewed certificate (cert-manager, Vault) is
 * used by new connections without a restart; connections already open keep the certificate they
 * were made with. A re-read that fails the same checks (a rotation caught half-written) keeps
 * the last good files and reports through `onReloadError`.
 */
export function createGrpcTlsServer(
  tls: TlsSettings,
  onConnection: (socket: TLSSocket) => void,
  options: { onReloadError?: (err: Error) => void } = {},
): Server {
  const onReloadError =
    options.onReloadError ??
    ((err: Error) => process.emitWarning(err.message, { code: "POS_INGEST_TLS_RELOAD" }));
  const provider = new TlsFileProvider(tls, onReloadError);
  const mutual = tls.clientCaFile !== undefined;
  const context = () => {
    const m = provider.material;
    return { cert: m.cert, key: m.key, ...(m.ca && { ca: m.ca }) };
  };
  const server = createServer(
    { ...context(), ALPNProtocols: ["h2"], requestCert: mutual, rejectUnauthorized: mutual },
    onConnection,
  );
  const update = () => server.setSecureContext(context());
  // The provider re-reads the files while it has listeners, so only while the server listens.
  server.on("listening", () => {
    provider.addIdentityCertificateListener(update);
    provider.addCaCertificateListener(update);
  });
  server.on("close", () => {
    provider.removeIdentityCertificateListener(update);
    provider.removeCaCertificateListener(update);
  });
  return server;
}

/**
 * The configured files, re-read while anyone listens, that only ever offers a good set. It keeps
 * grpc-js's certificate-provider shape, the listener protocol the TLS server subscribes with.
 */
class TlsFileProvider implements experimental.CertificateProvider {
  private current: TlsMaterial;
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(
    private readonly tls: TlsSettings,
    private readonly onReloadError: (err: Error) => void,
  ) {
    this.current = checked(tls, {
      cert: readSync(tls.certFile, "TLS_CERT_FILE"),
      key: readSync(tls.keyFile, "TLS_KEY_FILE"),
      ca:
        tls.clientCaFile === undefined
          ? undefined
          : readSync(tls.clientCaFile, "TLS_CLIENT_CA_FILE"),
    });
  }

  /** The files in service now. */
  get material(): TlsMaterial {
    return this.current;
  }

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    this.watch();
    // Asynchronously, as grpc-js's own providers do: the server registers its watcher on the
    // credentials only after adding this listener, and would miss a synchronous update.
    process.nextTick(() => listener(identityUpdate(this.current)));
  }

  removeIdentityCertificateListener(
    listener: experimental.IdentityCertificateUpdateListener,
  ): void {
    this.identityListeners.delete(listener);
    this.unwatchIfUnused();
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    this.watch();
    process.nextTick(() => listener(caUpdate(this.current)));
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
    this.unwatchIfUnused();
  }

  private watch(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.reload(), this.tls.reloadIntervalMs);
    // The listening server keeps the process alive; this timer must not do so on its own.
    this.timer.unref();
  }

  private unwatchIfUnused(): void {
    if (this.identityListeners.size > 0 || this.caListeners.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async reload(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const { tls } = this;
      const [cert, key, ca] = await Promise.all([
        readAsync(tls.certFile, "TLS_CERT_FILE"),
        readAsync(tls.keyFile, "TLS_KEY_FILE"),
        tls.clientCaFile === undefined
          ? undefined
          : readAsync(tls.clientCaFile, "TLS_CLIENT_CA_FILE"),
      ]);
      const next = checked(tls, { cert, key, ca });
      const previous = this.current;
      if (sameMaterial(previous, next)) return;
      this.current = next;
      // Listeners were removed meanwhile if the server stopped; then nothing is offered.
      if (!next.cert.equals(previous.cert) || !next.key.equals(previous.key)) {
        for (const listener of this.identityListeners) listener(identityUpdate(next));
      }
      if (!sameBuffer(next.ca, previous.ca)) {
        for (const listener of this.caListeners) listener(caUpdate(next));
      }
    } catch (err) {
      this.onReloadError(
        new Error(`TLS reload failed, still serving the previous files: ${message(err)}`, {
          cause: err,
        }),
      );
    } finally {
      this.reading = false;
    }
  }
}

/** Throws unless Node can serve `m`: PEM that parses, a key matching its certificate, a CA. */
function checked(tls: TlsSettings, m: TlsMaterial): TlsMaterial {
  try {
    createSecureContext({ cert: m.cert, key: m.key });
  } catch (err) {
    throw new Error(
      `TLS_CERT_FILE ${tls.certFile} and TLS_KEY_FILE ${tls.keyFile} are not a usable PEM ` +
        `certificate and matching private key: ${message(err)}`,
      { cause: err },
    );
  }
  if (m.ca !== undefined) {
    // createSecureContext accepts a CA file with no certificate in it, which would make mutual
    // TLS refuse every client; parsing the first certificate catches that.
    try {
      new X509Certificate(m.ca);
    } catch (err) {
      throw new Error(
        `TLS_CLIENT_CA_FILE ${tls.clientCaFile} holds no PEM CA certificate: ${message(err)}`,
        { cause: err },
      );
    }
  }
  return m;
}

function readSync(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${variable} ${path} cannot be read: ${message(err)}`, { cause: err });
  }
}

async function readAsync(path: string, variable: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new Error(`${variable} ${path} cannot be read: ${message(err)}`, { cause: err });
  }
}

function identityUpdate(m: TlsMaterial): experimental.IdentityCertificateUpdate {
  return { certificate: m.cert, privateKey: m.key };
}

function caUpdate(m: TlsMaterial): experimental.CaCertificateUpdate | null {
  return m.ca === undefined ? null : { caCertificate: m.ca };
}

function sameBuffer(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key) && sameBuffer(a.ca, b.ca);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
