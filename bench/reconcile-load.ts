import { toBinary } from "@bufbuild/protobuf";
import { SaleSchema } from "../gen/pos/ingest/v1/sale_pb.js";
import { saleKey } from "../src/client/index.js";
import { checkSale } from "../src/contract/check-sale.js";
import { fingerprintSale, uuidv7 } from "../src/ingest/canonical.js";
import { toSaleRow } from "../src/ingest/mapping.js";
import { insertSales, type SaleRow } from "../src/ingest/repository.js";
import { createDatabase } from "../src/storage/database.js";
import { daySales } from "./reconcile-day.js";

/** The tenant fresh-database.ts creates its API key for. */
const TENANT = "bench";
const BATCH = 500;

/**
 * Stores a day the way the service does, without the network: each sale checked by the server's
 * rules, fingerprinted from the bytes a client would send, mapped to its row (ledger included) by
 * `toSaleRow` and written by the service's own `insertSales`, 500 a statement, keyed as the
 * client keys it (`saleKey`). For the days around the measured one, which only need to be there:
 * through the service they would take minutes of this 2-core machine, mostly the gateway's and
 * the server's CPU, which the reconcile figures do not depend on.
 */
export async function storeDayDirectly(
  databaseUrl: string,
  day: string,
  size: number,
): Promise<number> {
  const handle = createDatabase({ kind: "postgres", url: databaseUrl, poolMax: 1 });
  const now = Date.now();
  let stored = 0;
  try {
    let rows: SaleRow[] = [];
    const flush = async () => {
      const results = await insertSales(handle.db, TENANT, rows);
      const refused = results.find((r) => "originalConflict" in r);
      if (refused) throw new Error(`direct load of ${day}: ${JSON.stringify(refused)}`);
      stored += results.length;
      rows = [];
    };
    for (const sale of daySales(day, size)) {
      const violations = checkSale(sale, { maxLineItems: 5000, maxFutureSkewSeconds: 300 }, now);
      if (violations.length > 0)
        throw new Error(`bench sale invalid: ${JSON.stringify(violations)}`);
      const fingerprint = fingerprintSale(sale, toBinary(SaleSchema, sale));
      rows.push(toSaleRow(TENANT, saleKey(sale), uuidv7(), fingerprint, sale));
      if (rows.length === BATCH) await flush();
    }
    if (rows.length > 0) await flush();
  } finally {
    await handle.close();
  }
  return stored;
}
