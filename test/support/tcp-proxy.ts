import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";
import { trackRunning } from "./leaks.js";

/** A TCP proxy between the server and a dependency, which a test can cut and heal. */
export interface TcpProxy {
  readonly port: number;
  /** Drops every open connection and refuses new ones (resets them on accept). */
  cut(): void;
  /** Lets connections through again (and removes any latency). */
  heal(): void;
  /** Delays every chunk in both directions by `ms`: a slow network or an overloaded server. */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy on an ephemeral loopback port forwarding to `target`. Cutting it is what a
 * network partition or a dead database looks like to the service: sockets die mid-query and
 * reconnects fail. Tracked (leaks.ts) until `close()`, which also ends every connection through it.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let open = true;
  let latencyMs = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    const forward = (from: Socket, to: Socket) =>
      from.on("data", (chunk) => {
        if (latencyMs === 0) to.write(chunk);
        else setTimeout(() => to.writable && to.write(chunk), latencyMs);
      });
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const forget = trackRunning(`TCP proxy to ${target.host}:${target.port}`);
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      open = false;
      for (const s of sockets) s.resetAndDestroy();
      sockets.clear();
    },
    heal() {
      open = true;
      latencyMs = 0;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    close() {
      open = false;
      forget();
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A proxy in front of the tests' PostgreSQL server (DATABASE_URL's port, default 5432). */
export function startPostgresProxy(): Promise<TcpProxy> {
  const url = new URL(process.env.DATABASE_URL ?? "postgres://x@127.0.0.1:5432/test");
  return startTcpProxy({ host: "127.0.0.1", port: Number(url.port || 5432) });
}
