import {
  type CallOptions,
  Client,
  credentials,
  type Metadata,
  type ServiceError,
} from "@grpc/grpc-js";

/** How one call ended: its status code, the status message, and the response bytes if OK. */
export interface CallResult {
  readonly code: number;
  readonly details: string;
  readonly response: Buffer | undefined;
}

const identity = (b: Buffer): Buffer => b;

/**
 * Opens `count` channels to `host`, each on its own connection: `grpc.use_local_subchannel_pool`
 * stops grpc-js from sharing one subchannel (one TCP connection) among clients of one target.
 */
export async function openChannels(host: string, count: number): Promise<Client[]> {
  const clients = Array.from(
    { length: count },
    () =>
      new Client(host, credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.max_receive_message_length": 64 * 1024 * 1024,
        "grpc.max_send_message_length": 64 * 1024 * 1024,
      }),
  );
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve, reject) =>
          c.waitForReady(Date.now() + 20_000, (err) => (err ? reject(err) : resolve())),
        ),
    ),
  );
  return clients;
}

function options(timeoutMs: number): CallOptions {
  return timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {};
}

function settle(resolve: (r: CallResult) => void) {
  return (err: ServiceError | null, response?: Buffer) =>
    resolve(
      err
        ? { code: err.code, details: err.details, response: undefined }
        : { code: 0, details: "", response },
    );
}

/** One unary call with pre-encoded request bytes. */
export function unaryCall(
  client: Client,
  path: string,
  body: Buffer,
  metadata: Metadata,
  timeoutMs: number,
): Promise<CallResult> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      path,
      identity,
      identity,
      body,
      metadata,
      options(timeoutMs),
      settle(resolve),
    ),
  );
}

/**
 * One client-streaming call that sends `body` `messages` times, honouring flow control (it waits
 * for `drain` whenever grpc-js's buffer is full, as a well-behaved gateway would).
 */
export function clientStreamCall(
  client: Client,
  path: string,
  body: Buffer,
  messages: number,
  metadata: Metadata,
  timeoutMs: number,
): Promise<CallResult> {
  return new Promise((resolve) => {
    let done = false;
    const call = client.makeClientStreamRequest(
      path,
      identity,
      identity,
      metadata,
      options(timeoutMs),
      (err: ServiceError | null, response?: Buffer) => {
        done = true;
        settle(resolve)(err, response);
      },
    );
    let sent = 0;
    const pump = (): void => {
      while (sent < messages && !done) {
        sent++;
        if (!call.write(body)) {
          call.once("drain", pump);
          return;
        }
      }
      if (!done) call.end();
    };
    pump();
  });
}
