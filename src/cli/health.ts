import { createIngestClient, IngestError } from "../client/index.js";
import { type ConnectionFlags, clientOptions } from "./connection.js";

/**
 * `pos-ingest health [service]`: one grpc.health.v1 Check, for scripts and probes. Prints the
 * status; exits 0 only for SERVING (like grpc_health_probe), 1 otherwise, 2 when the call failed.
 */
export async function runHealth(
  service: string,
  flags: ConnectionFlags & { timeout: number },
): Promise<number> {
  const client = createIngestClient({ ...clientOptions(flags), retry: { maxAttempts: 1 } });
  try {
    const status = await client.health(service, { timeoutMs: flags.timeout });
    process.stdout.write(`${status}\n`);
    return status === "SERVING" ? 0 : 1;
  } catch (err) {
    const message = err instanceof IngestError ? err.message : String(err);
    process.stderr.write(`health check failed: ${message}\n`);
    return 2;
  } finally {
    client.close();
  }
}
