import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Carries each connection's remote address to the calls made on it.
 *
 * Connections reach grpc-js through the HTTP/2 frame guard, a plain Duplex, which Node's http2
 * wraps in a socket that has no address: grpc-js's `call.getPeer()` then answers "unknown", and
 * everything keyed by the client's address (the failed-authentication budget) would lump all
 * clients together. The guard hands the client's bytes to the session in the async context it was
 * made in, and Node's http2 processes them synchronously, so every call on the connection runs
 * in that context and sees its address.
 */
export interface ConnectionPeers {
  /** Runs `inject` so that the calls on the connection it sets up see `peer` ("host:port"). */
  within<T>(peer: string, inject: () => T): T;
  /** The address of the connection `call` arrived on, in grpc-js's `getPeer()` form. */
  of(call: { getPeer(): string }): string;
}

/** One carrier per app: the listener writes into it, the handlers read from it. */
export function createConnectionPeers(): ConnectionPeers {
  const storage = new AsyncLocalStorage<string>();
  return {
    within: (peer, inject) => storage.run(peer, inject),
    of: (call) => storage.getStore() ?? call.getPeer(),
  };
}
