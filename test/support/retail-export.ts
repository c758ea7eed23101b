/**
 * A synthetic export in the shape of the UCI "Online Retail" file (one row per line item, local
 * UK wall-clock times, prices in pounds), with that file's quirks on purpose: times across both
 * 2011 DST changes, C-prefixed returns, invoices whose rows are not consecutive, names with
 * surrounding spaces, commas, quotes and non-ASCII letters, and customer ids written `17850.0`.
 * Deterministic for a seed and free of I/O, so a failing test reproduces from its seed alone.
 */

import { seededRandom } from "../../src/cli/seeded-random.js";

/** One row as the export writes it: every cell is text, exactly as in the file. */
export interface ExportRow {
  invoiceNo: string;
  stockCode: string;
  description: string;
  quantity: string;
  invoiceDate: string;
  unitPrice: string;
  customerId: string;
  country: string;
}

/** The export's header, in its column order. */
export const EXPORT_HEADER = [
  "InvoiceNo",
  "StockCode",
  "Description",
  "Quantity",
  "InvoiceDate",
  "UnitPrice",
  "CustomerID",
  "Country",
] as const;

/** How a CSV file writes the rows: the UK file, or a European one with `;` and decimal commas. */
export interface CsvDialect {
  delimiter: "," | ";";
  /** UnitPrice written with `,` as the decimal mark (nothing else changes). */
  decimalComma: boolean;
  crlf?: boolean;
  bom?: boolean;
}

/** The seeded generator gen-sales uses (mulberry32). */
export { seededRandom };

interface Product {
  readonly stockCode: string;
  readonly description: string;
  readonly unitPrice: string;
}

// The quirks the mapping must keep byte for byte: trailing and leading spaces (the real file's
// 103,600 trimmed names), a comma and a `;` (quoted by the comma and the semicolon dialect), an
// embedded double quote, non-ASCII letters; prices with fewer than two decimals ("2.1", "3").
const PRODUCTS: readonly Product[] = [
  { stockCode: "85123A", description: "WHITE HANGING HEART T-LIGHT HOLDER", unitPrice: "2.55" },
  { stockCode: "71053", description: "WHITE METAL LANTERN", unitPrice: "3.39" },
  { stockCode: "84406B", description: "CREAM CUPID HEARTS COAT HANGER", unitPrice: "2.75" },
  { stockCode: "84029G", description: "KNITTED UNION FLAG HOT WATER BOTTLE", unitPrice: "3.39" },
  { stockCode: "22752", description: "SET 7 BABUSHKA NESTING BOXES", unitPrice: "7.65" },
  { stockCode: "21730", description: "GLASS STAR FROSTED T-LIGHT HOLDER ", unitPrice: "4.25" },
  { stockCode: "22633", description: "HAND WARMER UNION JACK", unitPrice: "1.85" },
  { stockCode: "22086", description: "PAPER CHAIN KIT 50'S CHRISTMAS ", unitPrice: "2.1" },
  { stockCode: "22423", description: "REGENCY CAKESTAND 3 TIER", unitPrice: "12.75" },
  { stockCode: "POST", description: "POSTAGE", unitPrice: "18" },
  { stockCode: "16161P", description: 'WRAP, "ENGLISH ROSE"', unitPrice: "0.42" },
  { stockCode: "21212", description: "PACK OF 72 RETROSPOT CAKE CASES", unitPrice: "0.55" },
  { stockCode: "20725", description: "LUNCH BAG RED RETROSPOT", unitPrice: "1.65" },
  { stockCode: "22720", description: " SET OF 3 CAKE TINS PANTRY DESIGN", unitPrice: "4.95" },
  { stockCode: "84879", description: "ASSORTED COLOUR BIRD ORNAMENT", unitPrice: "1.69" },
  { stockCode: "22139", description: "RETROSPOT TEA SET CERAMIC 11 PC ", unitPrice: "4.95" },
  { stockCode: "21166", description: 'WOODEN RULER 12" ', unitPrice: "3" },
  { stockCode: "23084", description: "RABBIT NIGHT LIGHT", unitPrice: "2.08" },
  { stockCode: "22960", description: "JAM MAKING SET WITH JARS", unitPrice: "4.25" },
  { stockCode: "47566", description: "PARTY BUNTING", unitPrice: "4.65" },
  { stockCode: "85099B", description: "JUMBO BAG; RED RETROSPOT", unitPrice: "2.09" },
  { stockCode: "22197", description: "SMALL POPCORN HOLDER", unitPrice: "0.85" },
  { stockCode: "21034", description: "CAFÉ REX CHEQUERS BOARD", unitPrice: "1.5" },
  { stockCode: "M", description: "Manual", unitPrice: "1" },
];

const COUNTRIES = ["United Kingdom", "France", "Germany", "EIRE", "Netherlands", "Australia"];

/**
 * Times some invoices must have: the real file's first invoice, either side of the spring gap
 * (01:00 to 02:00 on 27 Mar 2011 does not exist, so none falls in it), the repeated hour of 30
 * Oct 2011 (01:xx happens twice) and either side of it, the file's last day.
 */
const FIXED_TIMES = [
  "12/1/2010 8:26",
  "3/27/2011 0:45",
  "3/27/2011 2:10",
  "10/30/2011 1:05",
  "10/30/2011 1:40",
  "10/30/2011 0:59",
  "10/30/2011 2:00",
  "12/9/2011 12:50",
];

/** Every 9th invoice (from the 5th) is a return; every 25th (from the 3rd) is split. */
export const isReturnPosition = (i: number): boolean => i % 9 === 4;
/** Invoices at these positions have their last row written after the next invoice's rows. */
export const isSplitPosition = (i: number): boolean => i % 25 === 2;

const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2010, 11, 1);
const LAST_DAY = Date.UTC(2011, 11, 9);

/** Local wall-clock minutes since the epoch (as if UTC) of a `M/d/yyyy H:mm` text. */
function wallMinutes(text: string): number {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})$/.exec(text);
  if (!m) throw new Error(`not M/d/yyyy H:mm: "${text}"`);
  const [, mo, d, y, h, mi] = m.map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi) / 60_000;
}

function wallText(minutes: number): string {
  const t = new Date(minutes * 60_000);
  const mm = String(t.getUTCMinutes()).padStart(2, "0");
  return `${t.getUTCMonth() + 1}/${t.getUTCDate()}/${t.getUTCFullYear()} ${t.getUTCHours()}:${mm}`;
}

interface Invoice {
  invoiceNo: string;
  rows: ExportRow[];
}

/**
 * The rows of an export of `invoices` invoices (at least 8), in file order: invoices by time,
 * one row per line item. Random times are on shop hours (7:00-20:59), so only FIXED_TIMES come
 * near a DST change, and none is in the skipped hour.
 */
export function retailExport(options: { seed: number; invoices: number }): ExportRow[] {
  const { seed, invoices: count } = options;
  if (!Number.isInteger(count) || count < FIXED_TIMES.length) {
    throw new Error(`retailExport: at least ${FIXED_TIMES.length} invoices`);
  }
  const random = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;

  const times = FIXED_TIMES.map(wallMinutes);
  const days = (LAST_DAY - FIRST_DAY) / DAY_MS;
  while (times.length < count) {
    const day = FIRST_DAY / 60_000 + int(0, days) * 1440;
    times.push(day + int(7 * 60, 20 * 60 + 59));
  }
  times.sort((a, b) => a - b);

  // Products in a shuffled cycle: every PRODUCTS.length rows hold each quirk once.
  let deck: Product[] = [];
  const nextProduct = (): Product => {
    if (deck.length === 0) {
      deck = [...PRODUCTS];
      for (let i = deck.length - 1; i > 0; i--) {
        const j = int(0, i);
        [deck[i], deck[j]] = [deck[j] as Product, deck[i] as Product];
      }
    }
    return deck.pop() as Product;
  };

  const list: Invoice[] = times.map((minutes, i) => {
    const isReturn = isReturnPosition(i);
    const invoiceNo = `${isReturn ? "C" : ""}${536365 + i}`;
    const customerId =
      i % 6 === 5 ? "" : i % 11 === 3 ? `${int(12346, 18287)}.0` : String(int(12346, 18287));
    const country = i % 3 === 0 ? pick(COUNTRIES) : "United Kingdom";
    // A split invoice has two rows or more, so that both of its parts hold a row.
    const n = isSplitPosition(i) ? int(2, isReturn ? 3 : 5) : isReturn ? int(1, 2) : int(1, 6);
    const rows: ExportRow[] = [];
    for (let k = 0; k < n; k++) {
      const product = nextProduct();
      const quantity = pick([1, 2, 3, 4, 6, 6, 8, 12, 12, 24, 48]);
      rows.push({
        invoiceNo,
        stockCode: product.stockCode,
        description: product.description,
        quantity: String(isReturn ? -Math.min(quantity, 12) : quantity),
        invoiceDate: wallText(minutes),
        unitPrice: product.unitPrice,
        customerId,
        country,
      });
    }
    return { invoiceNo, rows };
  });

  // A split invoice's last row comes after the next invoice's rows (under ~10 rows apart).
  const out: ExportRow[] = [];
  let held: ExportRow[] = [];
  list.forEach((invoice, i) => {
    if (isSplitPosition(i) && i + 1 < list.length) {
      out.push(...invoice.rows.slice(0, -1));
      out.push(...held);
      held = invoice.rows.slice(-1);
    } else {
      out.push(...invoice.rows, ...held);
      held = [];
    }
  });
  out.push(...held);
  return out;
}

/** One cell, quoted as RFC 4180 says when it holds the delimiter, a quote or a line break. */
function cell(value: string, delimiter: string): string {
  return value.includes(delimiter) || /["\r\n]/.test(value)
    ? `"${value.replaceAll('"', '""')}"`
    : value;
}

/** The rows as a CSV file: header, then one line per row, each line terminated. */
export function toCsv(rows: readonly ExportRow[], dialect: CsvDialect): string {
  const eol = dialect.crlf ? "\r\n" : "\n";
  const d = dialect.delimiter;
  const line = (cells: readonly string[]) => cells.map((c) => cell(c, d)).join(d) + eol;
  let out = dialect.bom ? "\uFEFF" : "";
  out += line(EXPORT_HEADER);
  for (const r of rows) {
    const price = dialect.decimalComma ? r.unitPrice.replace(".", ",") : r.unitPrice;
    out += line([
      r.invoiceNo,
      r.stockCode,
      r.description,
      r.quantity,
      r.invoiceDate,
      price,
      r.customerId,
      r.country,
    ]);
  }
  return out;
}
