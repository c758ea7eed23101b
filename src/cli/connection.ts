import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import type { IngestClientOptions } from "../client/index.js";

/** Flags (or environment variables) naming the server and the credentials to call it with. */
export interface ConnectionFlags {
  readonly server: string;
  readonly apiKey?: string;
  readonly apiKeyFile?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

/** Adds --server, --api-key, --api-key-file and the TLS flags to a command. */
export function withConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--server <url>", "the server (https:// for TLS)")
        .env("POS_INGEST_SERVER")
        .default("http://127.0.0.1:50051"),
    )
    .addOption(
      new Option("--api-key <key>", "API key (prefer the variable: argv is visible to others)").env(
        "POS_INGEST_API_KEY",
      ),
    )
    .addOption(new Option("--api-key-file <file>", "read the API key from a file"))
    .addOption(new Option("--ca <file>", "PEM CA to trust instead of the public roots"))
    .addOption(new Option("--cert <file>", "PEM client certificate (mutual TLS)"))
    .addOption(new Option("--key <file>", "PEM client key (mutual TLS)"))
    .addOption(new Option("--server-name <name>", "name to verify in the server's certificate"));
}

/** Client options from the flags; `apiKey` may be empty for calls that need none (health). */
export function clientOptions(
  flags: ConnectionFlags,
): Pick<IngestClientOptions, "baseUrl" | "apiKey" | "tls"> {
  const apiKey = flags.apiKeyFile
    ? readFileSync(flags.apiKeyFile, "utf8").trim()
    : (flags.apiKey ?? "");
  const read = (file: string | undefined) => (file ? readFileSync(file) : undefined);
  const tls =
    flags.ca || flags.cert || flags.key || flags.serverName
      ? {
          ...(flags.ca && { ca: read(flags.ca) }),
          ...(flags.cert && { cert: read(flags.cert) }),
          ...(flags.key && { key: read(flags.key) }),
          ...(flags.serverName && { serverName: flags.serverName }),
        }
      : undefined;
  return { baseUrl: flags.server, apiKey, ...(tls && { tls }) };
}
