import {
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from "@grpc/grpc-js";
import type { Metrics } from "./metrics.js";

function grpcType(requestStream: boolean, responseStream: boolean): string {
  if (requestStream) return responseStream ? "bidi_stream" : "client_stream";
  return responseStream ? "server_stream" : "unary";
}

/**
 * A grpc-js server interceptor that records go-grpc-prometheus's server metrics for every call:
 * started, messages received and sent, handled (by code) and handling time. A call the client
 * cancels is counted as CANCELLED, since no status is ever sent for it.
 */
export function grpcMetricsInterceptor(metrics: Metrics): ServerInterceptor {
  return (method, call) => {
    const [, service = "unknown", name = "unknown"] = method.path.split("/");
    const labels = {
      grpc_type: grpcType(method.requestStream, method.responseStream),
      grpc_service: service,
      grpc_method: name,
    };
    const started = performance.now();
    let finished = false;
    const finish = (code: status): void => {
      if (finished) return;
      finished = true;
      metrics.grpcHandled.inc({ ...labels, grpc_code: status[code] ?? String(code) });
      metrics.grpcHandlingSeconds.observe(labels, (performance.now() - started) / 1000);
    };
    metrics.grpcStarted.inc(labels);
    // Bound once per call: a stream counts every message, and resolving the label set each time
    // (hashing the labels) cost more than the rest of the interceptor.
    const received = metrics.grpcMsgReceived.labels(labels);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMessage((message, next) => {
        received.inc();
        next(message);
      })
      .withOnCancel(() => finish(status.CANCELLED))
      .build();
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendMessage((message, next) => {
        metrics.grpcMsgSent.inc(labels);
        next(message);
      })
      .withSendStatus((sent, next) => {
        finish(sent.code);
        next(sent);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
