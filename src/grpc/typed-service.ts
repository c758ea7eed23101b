import type {
  DescMessage,
  DescMethodBiDiStreaming,
  DescMethodClientStreaming,
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  MessageShape,
} from "@bufbuild/protobuf";
import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { DecodeFailure, FastDecoder, Received } from "./service-adapter.js";

/**
 * grpc-js handlers typed by a protobuf-es service descriptor, as connect's `ServiceImpl` types
 * them: one per method, under the method's local name, with the method's request and response
 * types. A missing, misnamed or mistyped handler does not compile (with untyped handlers keyed by
 * strings, a renamed RPC compiled and was served as UNIMPLEMENTED).
 */

/** What a handler receives for each request: the message and its bytes, or why it failed. */
export type Incoming<I extends DescMessage> = Received<MessageShape<I>> | DecodeFailure;

type HandlerOf<M> =
  M extends DescMethodUnary<infer I, infer O>
    ? handleUnaryCall<Incoming<I>, MessageShape<O>>
    : M extends DescMethodClientStreaming<infer I, infer O>
      ? handleClientStreamingCall<Incoming<I>, MessageShape<O>>
      : M extends DescMethodServerStreaming<infer I, infer O>
        ? handleServerStreamingCall<Incoming<I>, MessageShape<O>>
        : M extends DescMethodBiDiStreaming<infer I, infer O>
          ? handleBidiStreamingCall<Incoming<I>, MessageShape<O>>
          : never;

/** The handlers of service `S`, every method's, typed. */
export type GrpcServiceImpl<S extends DescService> = {
  readonly [K in keyof S["method"]]: HandlerOf<S["method"][K]>;
};

/** A service to serve: its descriptor, its handlers, and how its request types are decoded. */
export interface ServiceBinding {
  readonly service: DescService;
  readonly handlers: UntypedServiceImplementation;
  readonly fastDecoders: ReadonlyMap<string, FastDecoder>;
  /** Request types handed to the handler undecoded (see `toGrpcServiceDefinition`). */
  readonly deferred: ReadonlySet<string>;
}

/**
 * Binds typed handlers to their service for the server. `fastDecoders` (by message type name)
 * decode requests before protobuf-es does, and requests of a `deferred` type reach the handler
 * undecoded; both are the service's choice, not the adapter's.
 */
export function bindService<S extends DescService>(
  service: S,
  handlers: GrpcServiceImpl<S>,
  decoding: {
    fastDecoders?: ReadonlyMap<string, FastDecoder>;
    deferred?: ReadonlySet<string>;
  } = {},
): ServiceBinding {
  return {
    service,
    handlers: handlers as unknown as UntypedServiceImplementation,
    fastDecoders: decoding.fastDecoders ?? new Map(),
    deferred: decoding.deferred ?? new Set(),
  };
}
