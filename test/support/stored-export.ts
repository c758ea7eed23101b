import { fromBinary } from "@bufbuild/protobuf";
import {
  LineKind,
  type Sale,
  SaleSchema,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { query } from "./database.js";
import type { ExpectedInvoice } from "./retail-export-expected.js";

/**
 * Reading back what a load of the retail export stored, and one plain shape for a stored sale
 * and an expected invoice, so a mismatch shows as a diff of the fields that differ.
 */

/** A stored row: the decoded sale and the columns reports read beside it. */
export interface StoredSale {
  sale: Sale;
  source: string;
  occurredAtMs: number;
  totalMinor: bigint;
}

/** Every sale of `tenant` stored under `locationId`, by sale id. */
export async function storedSales(
  databaseUrl: string,
  tenant: string,
  locationId: string,
): Promise<Map<string, StoredSale>> {
  const rows = await query<{
    sale_id: string;
    sale: Buffer;
    source: string;
    occurred_at: Date;
    total_minor: string;
  }>(
    databaseUrl,
    `select sale_id, sale, source, occurred_at, total_minor::text
       from sales where tenant_id = $1 and location_id = $2`,
    [tenant, locationId],
  );
  return new Map(
    rows.map((r) => [
      r.sale_id,
      {
        sale: fromBinary(SaleSchema, r.sale),
        source: r.source,
        occurredAtMs: r.occurred_at.getTime(),
        totalMinor: BigInt(r.total_minor),
      },
    ]),
  );
}

/** The fixed values the mapping file gives every sale (location from `--set`). */
export interface MappedValues {
  source: string;
  locationId: string;
  registerId: string;
  currency: string;
}

/** The fields of a stored sale a load of the export decides, in a shape `toEqual` can diff. */
export function storedView(stored: StoredSale) {
  const { sale } = stored;
  const kindName = (k: TransactionKind) =>
    k === TransactionKind.RETURN
      ? "return"
      : k === TransactionKind.SALE || k === TransactionKind.UNSPECIFIED
        ? "sale"
        : `kind ${k}`;
  return {
    saleId: sale.saleId,
    source: sale.source,
    locationId: sale.locationId,
    registerId: sale.registerId,
    currency: sale.currency,
    kind: kindName(sale.kind),
    occurredAt: { seconds: sale.occurredAt?.seconds, nanos: sale.occurredAt?.nanos },
    customerId: sale.customer?.customerId ?? "",
    lines: sale.lineItems.map((l) => ({
      sku: l.sku,
      name: l.name,
      quantityMilli: l.quantityMilli,
      unitPriceMinor: l.unitPriceMinor,
      // Pounds with two decimals are whole pence: no sub-minor price.
      unitPriceScale: l.unitPriceScale,
      // A sale line may say SALE or leave the kind unset (which means SALE).
      kind:
        l.kind === LineKind.RETURN
          ? "return"
          : l.kind === LineKind.SALE || l.kind === LineKind.UNSPECIFIED
            ? "sale"
            : `kind ${l.kind}`,
    })),
    payments: sale.payments.map((p) => ({ tenderType: p.tenderType, amountMinor: p.amountMinor })),
    totalMinor: sale.totals?.totalMinor,
    columns: {
      source: stored.source,
      occurredAtSeconds: BigInt(stored.occurredAtMs / 1000),
      totalMinor: stored.totalMinor,
    },
  };
}

/** What `storedView` must show for an invoice loaded with the Online Retail mapping. */
export function expectedView(invoice: ExpectedInvoice, values: MappedValues) {
  const isReturn = invoice.kind === "return";
  return {
    saleId: invoice.saleId,
    ...values,
    kind: invoice.kind,
    occurredAt: { seconds: invoice.occurredAtSeconds, nanos: 0 },
    customerId: invoice.customerId,
    lines: invoice.lines.map((l) => ({
      ...l,
      unitPriceScale: 0,
      kind: isReturn ? "return" : "sale",
    })),
    payments: [{ tenderType: TenderType.OTHER, amountMinor: invoice.totalMinor }],
    totalMinor: invoice.totalMinor,
    columns: {
      source: values.source,
      occurredAtSeconds: invoice.occurredAtSeconds,
      totalMinor: invoice.totalMinor,
    },
  };
}
