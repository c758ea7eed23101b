import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import type { Sale } from "../../gen/pos/ingest/v1/sale_pb.js";
import { saleKey } from "../client/sale-key.js";
import { ledger } from "../contract/ledger.js";
import { ZReportTally } from "../contract/z-report.js";
import type { Mapping } from "./export/mapping-file.js";
import { linesText } from "./load-rejection.js";
import { type OutOfScope, outOfScope, type ReconcileScope } from "./reconcile-figures.js";
import { readSales, type SaleFormat } from "./sale-file.js";

/** A transaction of the file in the scope, as much as reconciling it needs (not the sale). */
export interface FileTransaction {
  /** "12" or "12–14, 20": where it is in the file. */
  readonly lines: string;
  /** Source, sale id, kind, currency and ledger total: how the server's extra keys are matched. */
  readonly identity: string;
}

/** The file's side of a reconciliation. */
export interface FileDay {
  readonly tally: ZReportTally;
  /** By the key `send` stores it under (`saleKey`), in file order. */
  readonly transactions: Map<string, FileTransaction>;
  readonly leftOut: Record<OutOfScope, number>;
  /** Transactions that cannot be read or represented (counted), the first few listed. */
  readonly problemCount: number;
  readonly problems: string[];
}

/** File problems listed before giving up (all are counted). */
const LISTED_PROBLEMS = 10;

/**
 * Reads the store's file as `send` reads it and keeps, of each transaction in the scope, its
 * figures (summed), its key and its lines: a day of 100,000 transactions is a map of keys, not
 * 100,000 sales in memory. `--resend` reads the file again for the sales it needs.
 */
export async function readFileDay(
  file: string,
  format: SaleFormat,
  mapping: Mapping | undefined,
  scope: ReconcileScope,
): Promise<FileDay> {
  const tally = new ZReportTally();
  const transactions = new Map<string, FileTransaction>();
  const leftOut: Record<OutOfScope, number> = { location: 0, register: 0, period: 0 };
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (text: string) => {
    problemCount++;
    if (problems.length < LISTED_PROBLEMS) problems.push(text);
  };
  for await (const item of readSales(open(file), format, { mapping })) {
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
      transactions.set(saleKey(item.sale), {
        lines: linesText(item.lines),
        identity: fileIdentity(item.sale),
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      problem(`line ${linesText(item.lines)}: ${message}`);
    }
  }
  return { tally, transactions, leftOut, problemCount, problems };
}

/** The sales of the file whose keys are in `keys`, read again, for `--resend`. */
export async function* salesWithKeys(
  file: string,
  format: SaleFormat,
  mapping: Mapping | undefined,
  keys: ReadonlySet<string>,
): AsyncGenerator<Sale> {
  for await (const item of readSales(open(file), format, { mapping })) {
    if (item.kind === "sale" && keys.has(saleKey(item.sale))) yield item.sale;
  }
}

/** The identity of a file's transaction, in the form `serverIdentity` gives a stored one. */
function fileIdentity(sale: Sale): string {
  const l = ledger(sale);
  return identity(sale.source, sale.saleId, l.kind, sale.currency, l.totalMinor);
}

/** The identity of a stored transaction (`kind` as the ledger names it). */
export function identity(
  source: string,
  saleId: string,
  kind: string,
  currency: string,
  totalMinor: bigint,
): string {
  return [source, saleId, kind, currency, totalMinor.toString()].join("\u0000");
}

function open(file: string): Readable {
  return file === "-" ? process.stdin : createReadStream(file);
}
