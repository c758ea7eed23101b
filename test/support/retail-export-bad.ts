import {
  type ExportRow,
  isReturnPosition,
  isSplitPosition,
  retailExport,
} from "./retail-export.js";

/** The invoices a bad export breaks, by InvoiceNo, and the cells written wrong. */
export interface BrokenInvoices {
  /** Every row at "3/27/2011 1:30": in the hour the clocks skipped. */
  skippedTime: string;
  /**
   * Its second row's UnitPrice is "£2.10": a currency sign in a number. (Three decimals, "2.105",
   * are not an error: a price below the penny is kept as written, as a sub-minor unit price.)
   */
  price: string;
  /** Its second row's Quantity is "2x". */
  quantity: string;
  /** Its last row comes FAR_SPLIT_INVOICES invoices (and more than 50 rows) after the others. */
  farSplit: string;
}

/** The bad cells as written, and what a person would correct them to. */
export const BAD_CELLS = {
  skippedTime: { bad: "3/27/2011 1:30", fixed: "3/27/2011 2:30" },
  price: { bad: "£2.10", fixed: "2.10" },
  quantity: { bad: "2x", fixed: "2" },
} as const;

/** How many invoices the far split's last row is moved past: beyond a 50-row group window. */
export const FAR_SPLIT_INVOICES = 60;

/**
 * `retailExport` with four invoices broken on purpose, each an ordinary (not a return, not split)
 * invoice of two rows or more near invoice positions 10, 20, 30 and 40. Needs 110 invoices.
 */
export function badRetailExport(options: { seed: number; invoices: number }): {
  rows: ExportRow[];
  broken: BrokenInvoices;
} {
  if (options.invoices < 110) throw new Error("badRetailExport: at least 110 invoices");
  const rows = retailExport(options).map((r) => ({ ...r }));
  const order = [...new Set(rows.map((r) => r.invoiceNo))];
  const rowsOf = (invoiceNo: string) => rows.filter((r) => r.invoiceNo === invoiceNo);
  const ordinary = (from: number): string => {
    for (let i = from; i < order.length; i++) {
      const id = order[i] as string;
      if (!isReturnPosition(i) && !isSplitPosition(i) && rowsOf(id).length >= 2) return id;
    }
    throw new Error("badRetailExport: no ordinary invoice left");
  };
  const broken: BrokenInvoices = {
    skippedTime: ordinary(10),
    price: ordinary(20),
    quantity: ordinary(30),
    farSplit: ordinary(40),
  };
  for (const r of rowsOf(broken.skippedTime)) r.invoiceDate = BAD_CELLS.skippedTime.bad;
  (rowsOf(broken.price)[1] as ExportRow).unitPrice = BAD_CELLS.price.bad;
  (rowsOf(broken.quantity)[1] as ExportRow).quantity = BAD_CELLS.quantity.bad;

  const tail = rowsOf(broken.farSplit).at(-1) as ExportRow;
  rows.splice(rows.indexOf(tail), 1);
  const after = order[order.indexOf(broken.farSplit) + FAR_SPLIT_INVOICES] as string;
  const lastOfAfter = rows.findLastIndex((r) => r.invoiceNo === after);
  rows.splice(lastOfAfter + 1, 0, tail);
  return { rows, broken };
}
