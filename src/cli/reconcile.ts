import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { Code, createIngestClient, IngestError, type ReconcileAnswer } from "../client/index.js";
import { ZReportTally } from "../contract/z-report.js";
import { type ConnectionFlags, clientOptions } from "./connection.js";
import type { MappingFlags } from "./export/mapping-file.js";
import { linesText } from "./load-rejection.js";
import { type OutOfScope, outOfScope, type ReconcileScope } from "./reconcile-figures.js";
import { humanReconcile, jsonReconcile, type ReconcileReport } from "./reconcile-output.js";
import { formatOf, readSales, type SaleFormat } from "./sale-file.js";
import { mappingOf } from "./send.js";

export interface ReconcileFlags extends ConnectionFlags, MappingFlags {
  readonly format?: SaleFormat;
  readonly mapping?: string;
  readonly location: string;
  readonly register?: string;
  readonly businessDay?: string;
  readonly from?: Date;
  readonly to?: Date;
  readonly json?: boolean;
}

/**
 * Exit codes of `reconcile`, for a scheduler: the server holds exactly the file's figures; some
 * figure differs; the reconciliation did not happen (bad flag, unreadable file, the call failed:
 * `send` uses 2 for every incomplete run too, retryable or not).
 */
export const EXIT = { match: 0, mismatch: 1, failed: 2 } as const;

/** File problems listed before giving up (all are counted). */
const LISTED_PROBLEMS = 10;

/**
 * `pos-ingest reconcile FILE`: reads the store's file for the day as `send` reads it, computes
 * the Z-report figures of the sales in the scope with the rules module (`zReport`), asks the
 * server for its own (`client.reconcile`) and prints "match" or the figures that differ.
 *
 * A file with a transaction that cannot be read or represented is not reconciled (exit 2): its
 * sale cannot have been sent either, so figures without it could falsely match.
 */
export async function runReconcile(file: string, flags: ReconcileFlags): Promise<number> {
  const scope: ReconcileScope = {
    locationId: flags.location,
    registerId: flags.register,
    ...(flags.businessDay !== undefined
      ? { businessDay: flags.businessDay }
      : { occurred: { from: flags.from as Date, to: flags.to as Date } }),
  };
  const mapping = await mappingOf(flags);
  const format = flags.format ?? mapping?.format ?? (file === "-" ? "ndjson" : formatOf(file));
  const input: Readable = file === "-" ? process.stdin : createReadStream(file);

  const tally = new ZReportTally();
  const leftOut: Record<OutOfScope, number> = { location: 0, register: 0, period: 0 };
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (text: string) => {
    problemCount++;
    if (problems.length < LISTED_PROBLEMS) problems.push(text);
  };
  for await (const item of readSales(input, format, { mapping })) {
    if (item.kind === "fatal") {
      problem(`line ${item.line}: ${item.message}`);
      break;
    }
    if (item.kind === "error") {
      problem(`line ${item.line}: ${item.message}`);
      continue;
    }
    const why = outOfScope(item.sale, scope);
    if (why) {
      leftOut[why]++;
      continue;
    }
    try {
      tally.add(item.sale);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      problem(`line ${linesText(item.lines)}: ${message}`);
    }
  }
  if (problemCount > 0) {
    process.stderr.write(
      `${file}: ${problemCount} ${problemCount === 1 ? "transaction" : "transactions"} cannot be read, so the day's figures are unknown; nothing reconciled\n${problems.map((p) => `  ${p}\n`).join("")}`,
    );
    return EXIT.failed;
  }

  const figures = tally.report();
  const client = createIngestClient({
    ...clientOptions(flags),
    onRetry: (e, delayMs) => {
      process.stderr.write(`retrying in ${Math.round(delayMs)} ms: ${e.message}\n`);
    },
  });
  let answer: ReconcileAnswer;
  try {
    answer = await client.reconcile({
      locationId: scope.locationId,
      ...(scope.registerId !== undefined && { registerId: scope.registerId }),
      ...(scope.businessDay !== undefined
        ? { businessDay: scope.businessDay }
        : { occurred: scope.occurred as { from: Date; to: Date } }),
      figures,
    });
  } catch (err) {
    process.stderr.write(`reconcile failed: ${failureText(err)}\n`);
    return EXIT.failed;
  } finally {
    client.close();
  }

  const report: ReconcileReport = {
    file,
    server: flags.server,
    scope,
    transactions: tally.transactions,
    leftOut,
    figures,
    answer,
  };
  process.stdout.write(flags.json ? jsonReconcile(report) : humanReconcile(report));
  return answer.match ? EXIT.match : EXIT.mismatch;
}

/** The failure as the user can act on it: an INVALID_ARGUMENT names its fields. */
function failureText(err: unknown): string {
  if (!(err instanceof IngestError)) return err instanceof Error ? err.message : String(err);
  if (err.code === Code.InvalidArgument && err.fieldViolations.length > 0) {
    return err.fieldViolations.map((v) => `${v.field}: ${v.description}`).join("; ");
  }
  return err.message;
}
