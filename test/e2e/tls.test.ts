import { copyFileSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect as tlsConnect } from "node:tls";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { IngestService, Outcome } from "../../gen/pos/ingest/v1/ingest_pb.js";
import { createApp } from "../../src/app.js";
import { mintApiKey } from "../../src/auth/api-key.js";
import type { Config } from "../../src/config/index.js";
import { type Authority, createTestPki, type Issued, type TestPki } from "../support/certs.js";
import { makeSale } from "../support/fixtures.js";
import { testLogger } from "../support/log-lines.js";
import { auth, startTestServer, type TestServer, testConfig } from "../support/server.js";
import { eventually } from "../support/wait.js";

/** Long enough for a handshake on a busy CI box, short enough that a hang fails the test fast. */
const CALL_TIMEOUT_MS = 5_000;

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => {
  pki?.remove();
});

/** Every client a test opens, closed after it whatever the outcome. */
const opened: Http2SessionManager[] = [];
afterEach(() => {
  for (const session of opened.splice(0)) session.abort();
});

/**
 * An IngestService client on a connection of its own (a new TCP + TLS handshake), so each
 * client's trust and identity are tested independently of the others'.
 */
function connect(
  port: number,
  tls: { ca?: Buffer; identity?: Issued } | "plaintext",
): Client<typeof IngestService> {
  const baseUrl = tls === "plaintext" ? `http://127.0.0.1:${port}` : `https://localhost:${port}`;
  const session = new Http2SessionManager(
    baseUrl,
    {},
    tls === "plaintext"
      ? {}
      : {
          // Only the given CA: without `ca`, Node would fall back to its bundled public roots.
          ca: tls.ca ?? [],
          ...(tls.identity && { cert: tls.identity.cert, key: tls.identity.key }),
        },
  );
  opened.push(session);
  return createClient(IngestService, createGrpcTransport({ baseUrl, sessionManager: session }));
}

async function ingestOk(client: Client<typeof IngestService>, apiKey: string): Promise<void> {
  const res = await client.ingest(
    { sale: makeSale() },
    { ...auth(apiKey), timeoutMs: CALL_TIMEOUT_MS },
  );
  expect(res.outcome).toBe(Outcome.ACCEPTED);
}

/**
 * The error of a call that must fail at the transport. A DEADLINE_EXCEEDED would mean the client
 * hung until its own timeout instead of being refused, so it does not count as a failure here.
 */
async function refusal(
  client: Client<typeof IngestService>,
  apiKey: string,
): Promise<ConnectError> {
  let error: ConnectError | undefined;
  try {
    await client.ingest({ sale: makeSale() }, { ...auth(apiKey), timeoutMs: CALL_TIMEOUT_MS });
  } catch (err) {
    error = ConnectError.from(err);
  }
  expect(error, "the call succeeded but should have been refused").toBeDefined();
  expect(error?.code, `refused too slowly: ${error?.message}`).not.toBe(Code.DeadlineExceeded);
  // No response headers at all: the server never answered at the HTTP/2 level, so the refusal
  // came from the TLS layer and not from a handler (an UNAUTHENTICATED carries grpc-status).
  expect([...(error?.metadata.keys() ?? [])], String(error)).toEqual([]);
  return error as ConnectError;
}

function tlsConfig(
  server: Issued,
  clientCa?: Authority,
  reloadIntervalMs = 60_000,
): NonNullable<Config["tls"]> {
  return {
    certFile: server.certFile,
    keyFile: server.keyFile,
    clientCaFile: clientCa?.certFile,
    reloadIntervalMs,
  };
}

describe("server TLS", () => {
  let server: TestServer;
  let ca: Authority;
  beforeAll(async () => {
    ca = pki.authority("server-tls");
    const cert = pki.issue(ca, "server-tls-localhost", "server");
    server = await startTestServer({
      database: "pglite",
      config: {
        tls: tlsConfig(cert),
        // One failed lookup per address, so the test below sees whose budget a call spends.
        auth: { ...testConfig().auth, peerFailureBurst: 1, peerFailuresPerMinute: 1 },
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a call sees the address its TLS connection comes from", async () => {
    // TLS ends in the server's own listener, in front of the frame guard: the client's address
    // must still reach the call, or every client would share one failed-authentication budget.
    const from = (localAddress: string) => {
      const session = new Http2SessionManager(
        `https://localhost:${server.port}`,
        {},
        {
          createConnection: () =>
            tlsConnect({
              socket: netConnect({ host: "127.0.0.1", port: server.port, localAddress }),
              servername: "localhost",
              ca: [ca.cert],
              ALPNProtocols: ["h2"],
            }),
        },
      );
      opened.push(session);
      return createClient(
        IngestService,
        createGrpcTransport({
          baseUrl: `https://localhost:${server.port}`,
          sessionManager: session,
        }),
      );
    };
    const unknownKey = (client: Client<typeof IngestService>) =>
      client
        .ingest({ sale: makeSale() }, { ...auth(mintApiKey().token), timeoutMs: CALL_TIMEOUT_MS })
        .then(
          () => undefined,
          (err: unknown) => ConnectError.from(err).code,
        );
    const first = from("127.0.0.2");
    expect(await unknownKey(first)).toBe(Code.Unauthenticated);
    expect(await unknownKey(first)).toBe(Code.ResourceExhausted);
    expect(await unknownKey(from("127.0.0.3"))).toBe(Code.Unauthenticated);
  });

  it("a client that trusts the CA ingests a sale", async () => {
    await ingestOk(connect(server.port, { ca: ca.cert }), server.keys.acme);
  });

  it("a plaintext client is refused", async () => {
    await refusal(connect(server.port, "plaintext"), server.keys.acme);
  });

  it("a client that does not trust the CA is refused", async () => {
    const other = pki.authority("server-tls-unrelated");
    const error = await refusal(connect(server.port, { ca: other.cert }), server.keys.acme);
    expect(error.message).toMatch(/unable to verify/);
  });
});

describe("mutual TLS", () => {
  let server: TestServer;
  let serverCa: Authority;
  let clientCa: Authority;
  beforeAll(async () => {
    serverCa = pki.authority("mtls-server");
    clientCa = pki.authority("mtls-clients");
    const cert = pki.issue(serverCa, "mtls-localhost", "server");
    server = await startTestServer({
      database: "pglite",
      config: { tls: tlsConfig(cert, clientCa) },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a client presenting a certificate from the client CA ingests a sale", async () => {
    const identity = pki.issue(clientCa, "mtls-till-1", "client");
    await ingestOk(connect(server.port, { ca: serverCa.cert, identity }), server.keys.acme);
  });

  it("a client without a certificate is refused", async () => {
    await refusal(connect(server.port, { ca: serverCa.cert }), server.keys.acme);
  });

  it("a client presenting a certificate from an unrelated CA is refused", async () => {
    const rogue = pki.authority("mtls-rogue");
    const identity = pki.issue(rogue, "mtls-rogue-till", "client");
    await refusal(connect(server.port, { ca: serverCa.cert, identity }), server.keys.acme);
  });

  it("a certificate from the server's CA does not pass as a client's", async () => {
    // Trusting one CA for serving must not make it a client CA too.
    const identity = pki.issue(serverCa, "mtls-server-ca-till", "client");
    await refusal(connect(server.port, { ca: serverCa.cert, identity }), server.keys.acme);
  });
});

describe("certificate reload without restart", () => {
  const RELOAD_MS = 200;
  let server: TestServer;
  let caA: Authority;
  let caB: Authority;
  let certA: Issued;
  let certB: Issued;
  let served: { certFile: string; keyFile: string };
  /** The server's warn-level log lines, where a failed reload is reported. */
  const warnings: Record<string, unknown>[] = [];
  const serve = (cert: Issued) => {
    copyFileSync(cert.certFile, served.certFile);
    copyFileSync(cert.keyFile, served.keyFile);
  };
  beforeAll(async () => {
    caA = pki.authority("reload-a");
    caB = pki.authority("reload-b");
    certA = pki.issue(caA, "reload-a-localhost", "server");
    certB = pki.issue(caB, "reload-b-localhost", "server");
    // The server reads these paths; the tests overwrite them in place, as a renewal would.
    served = { certFile: join(pki.dir, "served.crt"), keyFile: join(pki.dir, "served.key") };
    serve(certA);
    server = await startTestServer({
      database: "pglite",
      config: { tls: { ...served, clientCaFile: undefined, reloadIntervalMs: RELOAD_MS } },
      logger: testLogger({ level: "warn", onLine: (line) => warnings.push(line) }),
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  /**
   * Ingests through a new connection trusting only `ca` until one succeeds. A reload happens on
   * the next tick of the interval, so this allows a few intervals for a loaded machine.
   */
  async function untilIngests(ca: Authority): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await ingestOk(connect(server.port, { ca: ca.cert }), server.keys.acme);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(RELOAD_MS);
      }
    }
  }

  it("a rotation caught half-written keeps the previous certificate in service", async () => {
    {
      serve(certA);
      await untilIngests(caA);
      const reloadFailures = () =>
        warnings.filter((w) => w.msg === "TLS reload failed; serving the previous certificate");
      // Waits for the reloader to have looked at the files (and refused them) once more.
      const refusedAgain = async () => {
        const seen = reloadFailures().length;
        await eventually(async () => reloadFailures().length > seen, true, 30_000);
        expect(reloadFailures().length).toBeGreaterThan(seen);
      };
      // The new certificate is in place but its key is not yet: a mismatched pair.
      copyFileSync(certB.certFile, served.certFile);
      await refusedAgain();
      await ingestOk(connect(server.port, { ca: caA.cert }), server.keys.acme);
      writeFileSync(served.certFile, "");
      await refusedAgain();
      await ingestOk(connect(server.port, { ca: caA.cert }), server.keys.acme);
      expect(JSON.stringify(reloadFailures()[0]?.err)).toMatch(/still serving the previous files/);
    }
  });

  it("new connections get the renewed certificate; open ones keep working", async () => {
    serve(certA);
    await untilIngests(caA);
    const before = connect(server.port, { ca: caA.cert });
    await ingestOk(before, server.keys.acme);
    // Before the renewal a client that trusts only CA B is refused: the check below can fail.
    await refusal(connect(server.port, { ca: caB.cert }), server.keys.acme);

    serve(certB);
    await untilIngests(caB);
    await refusal(connect(server.port, { ca: caA.cert }), server.keys.acme);
    // The connection made with certificate A was not dropped by the reload.
    await ingestOk(before, server.keys.acme);
  });
});

describe("unusable TLS files stop start-up", () => {
  async function startFails(tls: Config["tls"], expected: RegExp): Promise<void> {
    const app = createApp(testConfig({ tls }), testLogger());
    try {
      await expect(app.start()).rejects.toThrow(expected);
    } finally {
      await app.stop();
    }
  }

  it("a missing certificate file", async () => {
    const missing = join(pki.dir, "missing.crt");
    const cert = pki.issue(pki.authority("startup-missing"), "startup-missing-localhost", "server");
    await startFails({ ...tlsConfig(cert), certFile: missing }, /TLS_CERT_FILE .*missing\.crt/);
  });

  it("a key that does not belong to the certificate", async () => {
    const ca = pki.authority("startup-mismatch");
    const one = pki.issue(ca, "startup-mismatch-1", "server");
    const two = pki.issue(ca, "startup-mismatch-2", "server");
    await startFails({ ...tlsConfig(one), keyFile: two.keyFile }, /matching private key/);
  });

  it("a client CA file without a certificate", async () => {
    const ca = pki.authority("startup-empty-ca");
    const cert = pki.issue(ca, "startup-empty-ca-localhost", "server");
    const empty = join(pki.dir, "empty-ca.crt");
    writeFileSync(empty, "");
    await startFails({ ...tlsConfig(cert), clientCaFile: empty }, /TLS_CLIENT_CA_FILE/);
  });
});
