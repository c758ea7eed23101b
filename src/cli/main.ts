#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { packageVersion } from "../observability/build-info.js";
import { withConnectionOptions } from "./connection.js";

// Subcommands import their modules lazily: `send` must not load the server (PGlite, pg, Redis).

function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`must be an integer from 1 to ${max}`);
    }
    return n;
  };
}

/** A calendar date written YYYY-MM-DD (2026-02-30 is not one). */
function calendarDay(value: string): string {
  const date = new Date(`${value}T00:00:00Z`);
  if (
    !/^\d{4}-\d\d-\d\d$/.test(value) ||
    Number.isNaN(date.getTime()) ||
    date.toISOString().slice(0, 10) !== value
  ) {
    throw new InvalidArgumentError("must be a calendar date written YYYY-MM-DD");
  }
  return value;
}

/** An RFC 3339 time with its offset: without one, the machine's zone would decide the instant. */
function isoTime(value: string): Date {
  const date = new Date(value);
  if (
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(value) ||
    Number.isNaN(date.getTime())
  ) {
    throw new InvalidArgumentError(
      "must be an RFC 3339 time with an offset, e.g. 2026-11-30T00:00:00Z",
    );
  }
  return date;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Runs an action and turns its result into the process's exit code; a failure at run time
 * (unreadable file, unreachable database) prints its message and exits `failureCode`.
 */
function exitWith(action: () => Promise<number>, failureCode = 1): Promise<void> {
  return action().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = failureCode;
    },
  );
}

/**
 * Adds the flags that say how to read a sales file (format and export mapping): `send` and
 * `reconcile` read the same files the same way.
 */
function withFileOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--format <format>", "file format (default: .csv is CSV, else NDJSON)").choices([
        "ndjson",
        "csv",
      ]),
    )
    .option("--mapping <file>", "how an export's columns make sales (JSON or YAML; README)")
    .option("--map <field=column>", "read field from the export's column (repeatable)", collect, [])
    .option("--set <field=value>", "give field this value in every row (repeatable)", collect, [])
    .option("--time-zone <zone>", "IANA zone of times written without an offset")
    .option("--time-format <pattern>", 'how times are written, e.g. "M/d/yyyy H:mm"')
    .option("--delimiter <char>", "CSV delimiter (default: detected from the header line)")
    .option("--decimal-comma", "numbers are written 1,25 (and 1.234,56)")
    .option("--tender <type>", "one payment of this tender (e.g. OTHER) for sales without payments")
    .option(
      "--group-window <rows>",
      "rows read past a sale's last row before it is sent (its rows need not be consecutive)",
      positiveInt(10_000_000),
    );
}

const program = new Command()
  .name("pos-ingest")
  .description("Exactly-once ingest of point-of-sale sales: server, loader and tools")
  .version(packageVersion())
  .showHelpAfterError("(add --help for usage)")
  // Usage errors exit 2, as is customary; --help and --version exit 0. Inherited by subcommands.
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

withFileOptions(
  withConnectionOptions(
    program
      .command("send")
      .description(
        "stream the sales in FILE (NDJSON or CSV, - for stdin) to a server; rerunning a file stores nothing twice",
      )
      .argument(
        "<file>",
        "NDJSON (one sale per line) or CSV (one line item per row); - reads stdin",
      ),
  ),
)
  .option("--stream-size <n>", "sales per stream (max 1000)", positiveInt(1_000), 1_000)
  .option("--concurrency <n>", "streams in flight", positiveInt(32), 2)
  .option(
    "--records-per-message <n>",
    "sales per message, at most (default 500, the client library's; 1 = one per message, by IngestStream)",
    positiveInt(1_000),
  )
  .addOption(
    new Option("--progress <mode>", "progress display on stderr")
      .choices(["auto", "bar", "lines", "none"])
      .default("auto"),
  )
  .option(
    "--max-rejections <n>",
    "rejections to list in the summary (default 20; 100000 with --json); all are counted",
    positiveInt(1_000_000),
  )
  .option("--json", "print the summary as one JSON object")
  .option("--dry-run", "read, map and check every sale with the server's rules; send nothing")
  .option("--rejects <file>", "write the rejected rows, as written in FILE, to this file")
  .addHelpText(
    "after",
    "\nExit codes: 0 every sale stored (or already stored), 1 some rejected, 2 the load did not complete.",
  )
  .action((file: string, flags) =>
    exitWith(async () => (await import("./send.js")).runSend(file, flags), 2),
  );

withFileOptions(
  withConnectionOptions(
    program
      .command("reconcile")
      .description(
        "compare the Z-report figures of a store's day in FILE (as `send` reads it) with what the server stored",
      )
      .argument("<file>", "the store's sales (NDJSON or CSV, - for stdin), as sent with `send`")
      .requiredOption("--location <id>", "the location (store) to reconcile")
      .option("--register <id>", "only this register (default: every register of the location)")
      .addOption(
        new Option("--business-day <day>", "the business day, YYYY-MM-DD")
          .argParser(calendarDay)
          .conflicts(["from", "to"]),
      )
      .option(
        "--from <time>",
        "instead of a day: sales with occurred_at at or after this time",
        isoTime,
      )
      .option("--to <time>", "... and before this time (at most 31 days after --from)", isoTime),
  ),
)
  .option("--json", "print the answer as one JSON object")
  .option("--resend", "send the transactions the server lacks, then reconcile again")
  .addHelpText(
    "after",
    [
      "",
      "Sales of other locations, registers and days in FILE are left out (and counted).",
      "On a mismatch it finds exactly which transactions differ (missing, extra, or stored",
      "under another key) and prints them with their lines in FILE.",
      "Exit codes: 0 match, 1 mismatch (after --resend: still), 2 not reconciled because of the",
      "input (bad flag, unreadable file, refused request), 3 the server could not answer",
      "(unreachable, overloaded: retry later).",
    ].join("\n"),
  )
  .action(function (this: Command, file: string, flags) {
    // Exactly one period: a day, or a range with both ends (commander checks the conflict).
    if (flags.businessDay === undefined && (flags.from === undefined || flags.to === undefined)) {
      this.error("error: give --business-day YYYY-MM-DD, or both --from and --to");
    }
    return exitWith(async () => (await import("./reconcile.js")).runReconcile(file, flags), 2);
  });

program
  .command("gen-sales")
  .description("write realistic synthetic sales (valid, reproducible with --seed)")
  .requiredOption("--count <n>", "how many sales", positiveInt(100_000_000))
  .addOption(
    new Option("--format <format>", "output format").choices(["ndjson", "csv"]).default("ndjson"),
  )
  .option("--seed <n>", "random seed: the same seed writes the same sales", positiveInt(2 ** 31), 1)
  .option("--out <file>", "write to a file instead of stdout")
  .option("--stores <n>", "spread over the first N of the 40 stores (default 40)", positiveInt(40))
  .option("--days <n>", "spread over the N days before --end (default 30)", positiveInt(366))
  .option(
    "--end <time>",
    "sales fall in the days before this RFC 3339 time (default: today 00:00 UTC)",
    (value: string) => {
      const date = new Date(value);
      if (Number.isNaN(date.getTime())) throw new InvalidArgumentError("not a time");
      return date;
    },
    new Date(new Date().toISOString().slice(0, 10)),
  )
  .action((flags) => exitWith(async () => (await import("./gen-sales.js")).runGenSales(flags)));

withConnectionOptions(
  program
    .command("health")
    .description("check a server's grpc.health.v1 status; exit 0 only when SERVING")
    .argument("[service]", '"" (the server), "liveness", "readiness" or "startup"', ""),
)
  .option("--timeout <ms>", "deadline of the check", positiveInt(600_000), 5_000)
  .action((service: string, flags) =>
    exitWith(async () => (await import("./health.js")).runHealth(service, flags), 2),
  );

const keys = program
  .command("keys")
  .description("manage API keys in DATABASE_URL (or the embedded database)");
keys
  .command("create")
  .description("create a tenant (if new) and an API key; prints the key once")
  .requiredOption("--tenant <id>", "tenant id")
  .action((flags: { tenant: string }) =>
    exitWith(async () =>
      (await import("./keys.js")).runKeys({ action: "create", tenant: flags.tenant }),
    ),
  );
keys
  .command("list")
  .description("list keys: ids, tenants, dates, never the secrets")
  .option("--tenant <id>", "only this tenant's keys")
  .action((flags: { tenant?: string }) =>
    exitWith(async () =>
      (await import("./keys.js")).runKeys({
        action: "list",
        ...(flags.tenant !== undefined && { tenant: flags.tenant }),
      }),
    ),
  );
keys
  .command("revoke")
  .description("revoke a key (calls with it fail within AUTH_CACHE_TTL_SECONDS)")
  .argument("<key-id>", "the key id from `keys list`")
  .action((keyId: string) =>
    exitWith(async () => (await import("./keys.js")).runKeys({ action: "revoke", keyId })),
  );

program
  .command("migrate")
  .description("apply pending migrations to DATABASE_URL (or the embedded database)")
  .action(() => exitWith(async () => (await import("./migrate.js")).runMigrate()));

program
  .command("backfill-ledger")
  .description(
    "fill the ledger columns of sales stored before they existed, from each row's own sale (restartable)",
  )
  .option("--batch-size <n>", "rows per UPDATE", positiveInt(100_000), 1_000)
  .action((flags: { batchSize: number }) =>
    exitWith(async () => (await import("./backfill-ledger.js")).runBackfillLedger(flags)),
  );

program
  .command("serve")
  .description("run the server (configured by environment variables; see the README)")
  .action(async () => (await import("./serve.js")).runServer());

program.parseAsync().catch((err: unknown) => {
  // A failure at run time (database unreachable, bad tenant id): the message, exit 1.
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
