import {
  type Client,
  credentials,
  Client as GrpcClient,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { trackConnection } from "./leaks.js";

/**
 * Channel options for a test's grpc-js client: a subchannel pool of its own, so that each client
 * has its own connection and `close()` ends it at once. With the shared global pool, clients of
 * one address share a connection, and a closed client's stays open until the pool's next sweep
 * (every 10 s), held by nobody, into the next test or file.
 */
export const OWN_CONNECTION = { "grpc.use_local_subchannel_pool": 1 } as const;

/** A grpc-js client whose `close()` also forgets it (leaks.ts). */
class TrackedClient extends GrpcClient {
  readonly #forget: () => void;
  constructor(address: string, label: string) {
    super(address, credentials.createInsecure(), OWN_CONNECTION);
    this.#forget = trackConnection(label);
  }
  override close(): void {
    super.close();
    this.#forget();
  }
}

/**
 * A grpc-js client that sends raw bytes, to put what no generated client would on the wire.
 * Tracked until `close()`: a test file that never closes it fails, naming the line that opened it.
 */
export function rawClient(port: number): Client {
  return new TrackedClient(`127.0.0.1:${port}`, `rawClient(${port})`);
}

const identity = (b: Buffer): Buffer => b;

/** Calls a unary method with `body` as the request bytes; resolves with the error, if any. */
export function rawUnary(
  client: Client,
  method: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ error: ServiceError | null; response: Buffer | undefined }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      identity,
      identity,
      body,
      toMetadata(headers),
      (error, response) => resolve({ error, response }),
    );
  });
}

/** Calls a client-streaming method with each buffer as one message. */
export function rawClientStream(
  client: Client,
  method: string,
  bodies: Buffer[],
  headers: Record<string, string>,
): Promise<{ error: ServiceError | null; response: Buffer | undefined }> {
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest(
      method,
      identity,
      identity,
      toMetadata(headers),
      (error, response) => resolve({ error, response }),
    );
    for (const body of bodies) call.write(body);
    call.end();
  });
}

function toMetadata(headers: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}
