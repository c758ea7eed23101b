import { clip } from "../csv-values.js";

/**
 * Decimals as a retailer's export writes them ("1.234,56", "2,5-") to the plain form the CSV
 * readers parse ("1234.56", "-2.5"). Only text is rewritten: a float would lose money digits.
 */

/** The separators of an export's numbers. */
export interface NumberStyle {
  readonly decimal: "." | ",";
  readonly thousands: "" | "," | "." | " " | "'" | "\u00a0" | "\u202f";
}

/** Spaces that look alike: a file said to group by " " often groups by a no-break space. */
const SPACES = " \u00a0\u202f";

const PLAIN = /^-?\d+(?:\.\d+)?$/;

function separatorName(separator: string): string {
  if (separator === "\u00a0") return "no-break space";
  if (separator === "\u202f") return "narrow no-break space";
  if (separator === " ") return "space";
  return `"${separator}"`;
}

/**
 * Rewrites a number as written in the export ("1.234,56", " -2,5 ") to the plain form the
 * readers parse ("1234.56", "-2.5"); throws Error (message without column name) when the text
 * is not a number in that style (e.g. "1,234.56" when decimal is ","; thousands groups not of 3 digits).
 * A leading `-` or `+` or a trailing `-` (SAP style) gives the sign; an empty cell gives "".
 */
export function numberReader(style: NumberStyle): (raw: string) => string {
  const { decimal, thousands } = style;
  if ((decimal as string) === thousands) {
    throw new Error(`number style: decimal and thousands separators are both "${decimal}"`);
  }
  const grouping = SPACES.includes(thousands) && thousands !== "" ? SPACES : thousands;
  const example = `1${thousands}234${decimal}56`;
  const how =
    thousands === ""
      ? `with decimal ${separatorName(decimal)} and no thousands separator`
      : `with decimal ${separatorName(decimal)} and thousands ${separatorName(thousands)}`;

  return (raw) => {
    const text = raw.trim();
    // The readers' own form needs no rewriting: the common case stays one regex test.
    if (decimal === "." && thousands === "" && PLAIN.test(text)) return text;
    if (text === "") return "";
    const bad = (why = "") =>
      new Error(`"${clip(text)}" is not a number like ${example} (${how})${why}`);
    let body = text;
    let sign = "";
    const first = body[0];
    if (first === "-" || first === "+") {
      sign = first === "-" ? "-" : "";
      body = body.slice(1);
    } else if (body.endsWith("-")) {
      sign = "-";
      body = body.slice(0, -1);
    }
    const point = body.indexOf(decimal);
    const whole = point < 0 ? body : body.slice(0, point);
    const fraction = point < 0 ? "" : body.slice(point + 1);
    if (point >= 0 && !/^\d+$/.test(fraction)) throw bad();
    let digits = whole;
    if (grouping !== "" && !/^\d+$/.test(whole)) {
      const groups: string[] = [];
      let group = "";
      for (const c of whole) {
        if (grouping.includes(c)) {
          groups.push(group);
          group = "";
        } else {
          group += c;
        }
      }
      groups.push(group);
      if (!groups.every((g) => /^\d+$/.test(g))) throw bad();
      const [lead, ...rest] = groups;
      if ((lead as string).length > 3 || rest.some((g) => g.length !== 3)) {
        throw bad(": thousands groups have 3 digits");
      }
      digits = groups.join("");
    }
    if (!/^\d+$/.test(digits)) throw bad();
    return point < 0 ? `${sign}${digits}` : `${sign}${digits}.${fraction}`;
  };
}
