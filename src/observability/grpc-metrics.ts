import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  type status,
} from "@grpc/grpc-js";
import { ALL_STATUS_CODES, clientEndCode, statusName } from "../grpc/status.js";
import type { Metrics } from "./metrics.js";

function grpcType(requestStream: boolean, responseStream: boolean): string {
  if (requestStream) return responseStream ? "bidi_stream" : "client_stream";
  return responseStream ? "server_stream" : "unary";
}

function methodGrpcType(method: DescMethod): string {
  const kind = method.methodKind;
  return grpcType(
    kind === "client_streaming" || kind === "bidi_streaming",
    kind === "server_streaming" || kind === "bidi_streaming",
  );
}

/**
 * Creates every method's series at 0 before its first call, as go-grpc-prometheus's
 * InitializeMetrics does: started, messages and handling time per method, handled per method and
 * code. A series born at its first event hides that event from rate() and increase(), so an
 * error-rate query would read 0 while the first failures happen.
 */
export function initialiseGrpcMetrics(metrics: Metrics, services: readonly DescService[]): void {
  for (const service of services) {
    for (const method of service.methods) {
      const labels = {
        grpc_type: methodGrpcType(method),
        grpc_service: service.typeName,
        grpc_method: method.name,
      };
      metrics.grpcStarted.inc(labels, 0);
      metrics.grpcMsgReceived.inc(labels, 0);
      metrics.grpcMsgSent.inc(labels, 0);
      metrics.grpcHandlingSeconds.zero(labels);
      for (const code of ALL_STATUS_CODES) {
        metrics.grpcHandled.inc({ ...labels, grpc_code: statusName(code) }, 0);
      }
    }
  }
}

/** Messages counted before they are added to the metric; a scrape lags a stream by fewer. */
const RECEIVED_INSTALMENT = 100;

/**
 * A grpc-js server interceptor that records go-grpc-prometheus's server metrics for every call:
 * started, messages received and sent, handled (by code) and handling time. A call the client
 * cancels is counted as CANCELLED, since no status is ever sent for it (DEADLINE_EXCEEDED when it
 * gave up at its deadline), as the handler's log line says.
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
    // Streamed messages are counted here and added in instalments: prom-client hashes the label
    // set on every inc, which cost more per record than the rest of the interceptor.
    let received = 0;
    const addReceived = (): void => {
      if (received > 0) metrics.grpcMsgReceived.inc(labels, received);
      received = 0;
    };
    const finish = (code: status): void => {
      if (finished) return;
      finished = true;
      addReceived();
      metrics.grpcHandled.inc({ ...labels, grpc_code: statusName(code) });
      metrics.grpcHandlingSeconds.observe(labels, (performance.now() - started) / 1000);
    };
    metrics.grpcStarted.inc(labels);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMessage((message, next) => {
        received++;
        if (finished || received >= RECEIVED_INSTALMENT) addReceived();
        next(message);
      })
      .withOnCancel(() => finish(clientEndCode(call.getDeadline())))
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
