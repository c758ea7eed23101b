import { backfillLedger } from "../ingest/ledger-backfill.js";
import { assertSchemaCurrent } from "../storage/migrate.js";
import { openCommandDatabase } from "./open-database.js";

/**
 * `pos-ingest backfill-ledger`: fills the ledger columns of rows stored before they existed, from
 * each row's own sale bytes. Prints a line per batch and what it did; exit 0 when every row it
 * read has its ledger, 1 when some could not be computed (they are listed, and left as they are).
 * The schema must be current: this never migrates behind an operator's back.
 */
export async function runBackfillLedger(flags: { batchSize: number }): Promise<number> {
  const database = openCommandDatabase();
  try {
    await assertSchemaCurrent(database.db);
    const summary = await backfillLedger(database.db, {
      batchSize: flags.batchSize,
      onBatch: (s) =>
        process.stdout.write(`batch ${s.batches}: ${s.read} rows read, ${s.filled} filled\n`),
    });
    if (summary.read === 0) {
      process.stdout.write("nothing to backfill: every row has its ledger\n");
      return 0;
    }
    process.stdout.write(
      `backfilled ${summary.filled} rows in ${summary.batches} batches` +
        (summary.read - summary.unfilled > summary.filled
          ? ` (${summary.read - summary.unfilled - summary.filled} filled meanwhile by another run)`
          : "") +
        "\n",
    );
    if (summary.unfilled === 0) return 0;
    process.stdout.write(
      `${summary.unfilled} rows left without a ledger (their sale bytes do not give one):\n`,
    );
    for (const r of summary.unfilledRows) {
      process.stdout.write(`  ${r.tenantId} ${r.idempotencyKey}: ${r.reason}\n`);
    }
    return 1;
  } finally {
    await database.close();
  }
}
