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

/** A service to serve: its descriptor, its handlers, and the decoders of its hot request types. */
export interface ServiceBinding {
  readonly service: DescService;
  readonly handlers: UntypedServiceImplementation;
  readonly fastDecoders: ReadonlyMap<string, FastDecoder>;
}

/**
 * Binds typed handlers to their service for the server. `fastDecoders` (by message type name)
 * decode requests before protobuf-es does; they are the service's, not the adapter's.
 */
export function bindService<S extends DescService>(
  service: S,
  handlers: GrpcServiceImpl<S>,
  fastDecoders: ReadonlyMap<string, FastDecoder> = new Map(),
): ServiceBinding {
  return { service, handlers: handlers as unknown as UntypedServiceImplementation, fastDecoders };
}
