import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectIngest } from "../support/connect-client.js";
import { probe } from "../support/h2-raw.js";
import { healthProbe } from "../support/health-client.js";
import { leakReport, stillConnected, stillRunning } from "../support/leaks.js";
import { rawClient, rawUnary } from "../support/raw-client.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { until } from "../support/wait.js";

// The detector against a real HTTP/2 server that answers every call UNIMPLEMENTED: enough for
// each helper to open a real connection, and to see from the server side when it is gone.
let server: Http2Server;
let port: number;
const sessions = new Set<ServerHttp2Session>();

beforeAll(async () => {
  server = createServer();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.respond(
      {
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-status": String(status.UNIMPLEMENTED),
      },
      { endStream: true },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const here = / opened at unit\/leaks\.test\.ts:\d+$/;

describe("the connection leak check (test/support/leaks.ts)", () => {
  it("names each client a test left open, with the line that opened it, until it is closed", async () => {
    const raw = rawClient(port);
    const health = healthProbe(port);
    const connect = connectIngest(`http://127.0.0.1:${port}`);
    try {
      // A call on each, so each holds a real connection.
      expect((await rawUnary(raw, "/x.Y/Z", Buffer.alloc(0), {})).error?.code).toBe(
        status.UNIMPLEMENTED,
      );
      expect(await health.check("")).toBe(status.UNIMPLEMENTED);
      const err = await connect.client.ingest({}).catch((e: unknown) => ConnectError.from(e));
      expect(err).toMatchObject({ code: Code.Unimplemented });
      expect(sessions.size).toBe(3);

      const open = stillConnected();
      expect(open).toHaveLength(3);
      expect(open.find((l) => l.startsWith(`rawClient(${port})`))).toMatch(here);
      expect(open.find((l) => l.startsWith(`healthProbe(${port})`))).toMatch(here);
      expect(open.find((l) => l.startsWith(`connectIngest(http://127.0.0.1:${port})`))).toMatch(
        here,
      );
      const report = leakReport() as string;
      expect(report).toContain("3 client connection(s) still open after the file's tests");
      expect(report).toContain(`\n  rawClient(${port}) opened at unit/leaks.test.ts:`);
      expect(report).toContain("close every client the file opens");
      expect(report).not.toContain("server(s) still running");

      raw.close();
      expect(stillConnected()).toHaveLength(2);
    } finally {
      raw.close();
      health.close();
      connect.close();
    }
    expect(stillConnected()).toEqual([]);
    expect(leakReport()).toBeUndefined();
    // Closed means closed: the server sees every one of the connections end.
    await until(() => sessions.size === 0, { what: `${sessions.size} session(s) still open` });
  });

  it("tracks a raw HTTP/2 probe while it runs and forgets it once it has its answer", async () => {
    const answer = probe(port, []);
    const during = stillConnected();
    expect(await answer).toBe("alive");
    expect(during).toEqual([expect.stringMatching(new RegExp(`^probe\\(${port}\\)`))]);
    expect(stillConnected()).toEqual([]);
  });

  it("counts a TCP proxy as running until it is closed", async () => {
    const proxy = await startTcpProxy({ host: "127.0.0.1", port });
    try {
      expect(stillRunning()).toEqual([
        expect.stringMatching(new RegExp(`^TCP proxy to 127\\.0\\.0\\.1:${port} opened at`)),
      ]);
      expect(leakReport()).toContain("1 server(s) still running after the file's tests");
    } finally {
      await proxy.close();
    }
    expect(stillRunning()).toEqual([]);
    expect(leakReport()).toBeUndefined();
  });
});
