import {
  Code,
  createIngestClient,
  type IngestClient,
  IngestError,
  IngestManyError,
  type IngestManyResult,
  type ReconcileAnswer,
} from "../client/index.js";
import { type ConnectionFlags, clientOptions } from "./connection.js";
import type { MappingFlags } from "./export/mapping-file.js";
import type { ReconcileScope } from "./reconcile-figures.js";
import { type FileDay, readFileDay, salesWithKeys } from "./reconcile-file.js";
import { type Findings, findingsOf } from "./reconcile-findings.js";
import {
  humanReconcile,
  humanResend,
  jsonReconcile,
  type ReconcileReport,
} from "./reconcile-output.js";
import { formatOf, type SaleFormat } from "./sale-file.js";
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
  readonly resend?: boolean;
}

/**
 * Exit codes of `reconcile`, for a scheduler: the server holds exactly the file's day; it does
 * not (after `--resend`: still not); nothing was reconciled because of the input (bad flag,
 * unreadable file, a request the server refused as invalid or unauthenticated: rerunning the
 * same command fails the same way, alert); the server could not answer (unreachable, overloaded,
 * deadline: retry later).
 */
export const EXIT = { match: 0, mismatch: 1, failed: 2, unavailable: 3 } as const;

/**
 * `pos-ingest reconcile FILE`: reads the store's file for the day as `send` reads it, computes the
 * Z-report figures and the keys of the transactions in the scope, and runs `client.reconcile`:
 * the figures, the digest of the keys and, when the keys differ, the search for exactly which.
 * Prints "match" or the differing figures and the missing, extra and re-keyed transactions with
 * their lines in the file. `--resend` sends the missing ones (exactly-once: a resend of anything
 * stored is a duplicate) and reconciles again.
 *
 * A file with a transaction that cannot be read or represented is not reconciled (exit 2): its
 * sale cannot have been sent either, so figures without it could falsely match.
 */
export async function runReconcile(file: string, flags: ReconcileFlags): Promise<number> {
  if (flags.resend && file === "-") {
    process.stderr.write("--resend reads the file twice: give a file, not standard input\n");
    return EXIT.failed;
  }
  const scope: ReconcileScope = {
    locationId: flags.location,
    registerId: flags.register,
    ...(flags.businessDay !== undefined
      ? { businessDay: flags.businessDay }
      : { occurred: { from: flags.from as Date, to: flags.to as Date } }),
  };
  const mapping = await mappingOf(flags);
  const format = flags.format ?? mapping?.format ?? (file === "-" ? "ndjson" : formatOf(file));
  const day = await readFileDay(file, format, mapping, scope);
  if (day.problemCount > 0) {
    process.stderr.write(
      `${file}: ${day.problemCount} ${day.problemCount === 1 ? "transaction" : "transactions"} cannot be read, so the day's figures are unknown; nothing reconciled\n${day.problems.map((p) => `  ${p}\n`).join("")}`,
    );
    return EXIT.failed;
  }

  const client = createIngestClient({
    ...clientOptions(flags),
    onRetry: (e, delayMs) => {
      process.stderr.write(`retrying in ${Math.round(delayMs)} ms: ${e.message}\n`);
    },
  });
  try {
    const first = await reconcileOnce(client, scope, day);
    const report = reportOf(file, flags, scope, day, first.answer, first.findings);
    if (!flags.resend || first.findings.match || first.findings.missing.length === 0) {
      process.stdout.write(flags.json ? jsonReconcile(report) : humanReconcile(report));
      return first.findings.match ? EXIT.match : EXIT.mismatch;
    }
    const keys = new Set(first.findings.missing.map((m) => m.key));
    let resent: IngestManyResult;
    try {
      resent = await client.ingestMany(salesWithKeys(file, format, mapping, keys));
    } catch (err) {
      if (!flags.json) process.stdout.write(humanReconcile(report));
      throw err instanceof IngestManyError ? err.cause : err;
    }
    const second = await reconcileOnce(client, scope, day);
    const after = reportOf(file, flags, scope, day, second.answer, second.findings);
    process.stdout.write(
      flags.json
        ? jsonReconcile(report, { resent, after })
        : `${humanReconcile(report)}${humanResend(resent)}${humanReconcile(after)}`,
    );
    return second.findings.match ? EXIT.match : EXIT.mismatch;
  } catch (err) {
    process.stderr.write(`reconcile failed: ${failureText(err)}\n`);
    return err instanceof IngestError && err.retryable ? EXIT.unavailable : EXIT.failed;
  } finally {
    client.close();
  }
}

async function reconcileOnce(
  client: IngestClient,
  scope: ReconcileScope,
  day: FileDay,
): Promise<{ answer: ReconcileAnswer; findings: Findings }> {
  const answer = await client.reconcile({
    locationId: scope.locationId,
    ...(scope.registerId !== undefined && { registerId: scope.registerId }),
    ...(scope.businessDay !== undefined
      ? { businessDay: scope.businessDay }
      : { occurred: scope.occurred as { from: Date; to: Date } }),
    figures: day.tally.report(),
    keys: day.transactions.keys(),
  });
  return { answer, findings: findingsOf(answer, day.transactions) };
}

function reportOf(
  file: string,
  flags: ReconcileFlags,
  scope: ReconcileScope,
  day: FileDay,
  answer: ReconcileAnswer,
  findings: Findings,
): ReconcileReport {
  return {
    file,
    server: flags.server,
    scope,
    transactions: day.tally.transactions,
    leftOut: day.leftOut,
    figures: day.tally.report(),
    answer,
    findings,
  };
}

/** The failure as the user can act on it: an INVALID_ARGUMENT names its fields. */
function failureText(err: unknown): string {
  if (!(err instanceof IngestError)) return err instanceof Error ? err.message : String(err);
  if (err.code === Code.InvalidArgument && err.fieldViolations.length > 0) {
    return err.fieldViolations.map((v) => `${v.field}: ${v.description}`).join("; ");
  }
  return err.message;
}
