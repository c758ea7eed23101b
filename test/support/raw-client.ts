import {
  type Client,
  credentials,
  Client as GrpcClient,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";

/** A grpc-js client that sends raw bytes, to put what no generated client would on the wire. */
export function rawClient(port: number): Client {
  return new GrpcClient(`127.0.0.1:${port}`, credentials.createInsecure());
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
