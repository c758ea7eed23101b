/**
 * The same transactions written twice for the export bench: in a retailer's own shape (the
 * Online Retail columns: local UK times, prices in pounds, C-prefixed returns, no tenders), read
 * through examples/exports/online-retail.mapping.yaml, and in the plain CSV format, which needs
 * no mapping. Times fall between 08:00 and 19:59 local, never in a DST change's hours, so both
 * files say exactly the same thing.
 */

import { seededRandom } from "../src/cli/seeded-random.js";

const WORDS = ["WHITE", "HANGING", "HEART", "LANTERN", "CUPID", "VINTAGE", "JUMBO", "BAG", "RED"];
const LONDON = new Intl.DateTimeFormat("en-US", {
  timeZone: "Europe/London",
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  hourCycle: "h23",
});

/** Both files' text, and how many rows (line items) and transactions they hold. */
export interface ExportFiles {
  readonly exportCsv: string;
  readonly plainCsv: string;
  readonly rows: number;
  readonly sales: number;
}

const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** `sales` transactions of 1–8 lines, 2% of them returns, sent to location `location`. */
export function exportFiles(sales: number, seed: number, location: string): ExportFiles {
  const next = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const exportLines = [
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country",
  ];
  const plainLines = [
    "source,location_id,register_id,sale_id,occurred_at,currency,sku,name,quantity,unit_price,customer_id,kind,payments",
  ];
  const start = Date.UTC(2011, 0, 1);
  let rows = 0;
  for (let i = 0; i < sales; i++) {
    const isReturn = next() < 0.02;
    const invoice = `${isReturn ? "C" : ""}${536_000 + i}`;
    // A day of 2011, then a local time from 08:00 to 19:59.
    let when = start + Math.floor(next() * 364) * 86_400_000;
    const parts = Object.fromEntries(
      LONDON.formatToParts(new Date(when)).map((p) => [p.type, p.value]),
    );
    const offsetMs =
      when - Date.UTC(2011, Number(parts.month) - 1, Number(parts.day), Number(parts.hour));
    when =
      Date.UTC(
        2011,
        Number(parts.month) - 1,
        Number(parts.day),
        8 + Math.floor(next() * 12),
        Math.floor(next() * 60),
      ) + offsetMs;
    const local = Object.fromEntries(
      LONDON.formatToParts(new Date(when)).map((p) => [p.type, p.value]),
    );
    const localText = `${local.month}/${local.day}/${local.year} ${Number(local.hour)}:${local.minute}`;
    const customer = next() < 0.25 ? "" : String(12_000 + Math.floor(next() * 6000));
    const lines = 1 + Math.floor(next() * 8);
    const items: { sku: string; name: string; qty: number; pence: number }[] = [];
    for (let l = 0; l < lines; l++) {
      const name = `${pick(WORDS)} ${pick(WORDS)}${next() < 0.3 ? " " : ""}`;
      const qty = (1 + Math.floor(next() * 12)) * (isReturn ? -1 : 1);
      items.push({
        sku: `${20_000 + Math.floor(next() * 4000)}${next() < 0.2 ? "A" : ""}`,
        name,
        qty,
        pence: 10 + Math.floor(next() * 2000),
      });
    }
    const total = items.reduce((sum, it) => sum + it.qty * it.pence, 0);
    const iso = new Date(when).toISOString().replace(".000Z", "Z");
    for (const it of items) {
      const price = `${Math.floor(it.pence / 100)}.${String(it.pence % 100).padStart(2, "0")}`;
      exportLines.push(
        [
          invoice,
          it.sku,
          quote(it.name),
          it.qty,
          localText,
          price,
          customer,
          "United Kingdom",
        ].join(","),
      );
      plainLines.push(
        [
          "online-retail",
          location,
          "web",
          invoice,
          iso,
          "GBP",
          it.sku,
          quote(it.name),
          it.qty,
          price,
          customer,
          isReturn ? "return" : "",
          `OTHER:${total}`,
        ].join(","),
      );
      rows++;
    }
  }
  return {
    exportCsv: `${exportLines.join("\n")}\n`,
    plainCsv: `${plainLines.join("\n")}\n`,
    rows,
    sales,
  };
}
