import { experimental, ServerCredentials } from "@grpc/grpc-js";
import type { Config } from "../config.js";

export function createGrpcCredentials(tls: Config["tls"]): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const identity = new experimental.FileWatcherCertificateProvider({
    certificateFile: tls.certFile,
    privateKeyFile: tls.keyFile,
    refreshIntervalMs: tls.reloadIntervalMs,
  });
  const clientCa = tls.clientCaFile
    ? new experimental.FileWatcherCertificateProvider({
        caCertificateFile: tls.clientCaFile,
        refreshIntervalMs: tls.reloadIntervalMs,
      })
    : null;
  return experimental.createCertificateProviderServerCredentials(
    identity,
    clientCa,
    clientCa !== null,
  );
}
