import {
  type DescMessage,
  type DescService,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { fromBinaryStrict } from "../protobuf/strict-decode.js";
import "../protobuf/text-encoding.js";

/**
 * What a request deserializer yields for bytes that are not a valid message. grpc-js would turn a
 * throwing deserializer into INTERNAL, which blames the server for the client's garbage; handing
 * the handler this value instead lets it answer INVALID_ARGUMENT (unary) or reject just that
 * record (stream).
 */
export class DecodeFailure {
  constructor(
    readonly cause: unknown,
    /** The bytes that failed, for a handler that can still use part of them (a batch's records). */
    readonly bytes: Uint8Array,
  ) {}
}

/**
 * What a request deserializer yields for a valid message: the decoded message and the exact bytes
 * it came from, so a handler can hash and store them without encoding the message again when they
 * are already canonical (see fingerprintSale).
 *
 * A message of a deferred type (see `toGrpcServiceDefinition`) is decoded when `message` is first
 * read, and that read throws what decoding throws.
 */
export class Received<T> {
  #message: T | undefined;
  readonly #decode: ((bytes: Uint8Array) => T) | undefined;

  constructor(message: T, bytes: Uint8Array);
  constructor(message: undefined, bytes: Uint8Array, decode: (bytes: Uint8Array) => T);
  constructor(
    message: T | undefined,
    readonly bytes: Uint8Array,
    decode?: (bytes: Uint8Array) => T,
  ) {
    this.#message = message;
    this.#decode = decode;
  }

  get message(): T {
    if (this.#message === undefined)
      this.#message = (this.#decode as (b: Uint8Array) => T)(this.bytes);
    return this.#message;
  }
}

/**
 * A schema-specific decoder for a hot request type: returns the message `fromBinaryStrict` would,
 * or undefined for input it leaves to `fromBinaryStrict`.
 */
export type FastDecoder = (bytes: Uint8Array) => unknown;

/**
 * Builds a grpc-js service definition from a protobuf-es service descriptor, so grpc-js serves
 * the generated protobuf-es messages without a second code generator. Requests of a type in
 * `fastDecoders` are decoded by it first, by protobuf-es (after a well-formedness check, see
 * strict-decode.ts) when it declines.
 *
 * Requests of a type in `deferred` are handed over undecoded (their `message` decodes on first
 * read). grpc-js deserializes a streamed message as it arrives, and a stream's messages wait in
 * its readable buffer (up to 16) until the handler reads them: for a batch of hundreds of sales,
 * decoded early, that is thousands of decoded sales living long enough to reach V8's old
 * generation. A handler of such a type decodes the parts it needs when it needs them.
 */
export function toGrpcServiceDefinition(
  service: DescService,
  fastDecoders: ReadonlyMap<string, FastDecoder> = new Map(),
  deferred: ReadonlySet<string> = new Set(),
): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream:
        method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream:
        method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(
        method.input,
        fastDecoders.get(method.input.typeName),
        deferred.has(method.input.typeName),
      ),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output, fastDecoders.get(method.output.typeName)),
      originalName: method.name,
    };
  }
  return definition as ServiceDefinition;
}

function serializer<D extends DescMessage>(schema: D) {
  return (message: unknown): Buffer => {
    const bytes = toBinary(schema, message as MessageShape<D>);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer<D extends DescMessage>(
  schema: D,
  fast: FastDecoder | undefined,
  deferred = false,
) {
  const decode = (bytes: Uint8Array): MessageShape<D> =>
    (fast?.(bytes) as MessageShape<D> | undefined) ?? fromBinaryStrict(schema, bytes);
  return (bytes: Buffer): Received<MessageShape<D>> | DecodeFailure => {
    if (deferred) return new Received(undefined, bytes, decode);
    try {
      return new Received(decode(bytes), bytes);
    } catch (err) {
      return new DecodeFailure(err, bytes);
    }
  };
}
