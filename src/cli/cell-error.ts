/**
 * A cell that cannot be read: which column (of the reader's columns, "unit_price", "payments")
 * and why. The loader reports it as a violation of that field at the row's line, and, when the
 * file was mapped, names the source column that fed it.
 */
export class CellError extends Error {
  override readonly name = "CellError";
  /** The reader's column ("payments" for a bad "payments amount"). */
  readonly column: string;
  constructor(
    /** The column as the message names it, e.g. "payments amount". */
    label: string,
    /** Why, without the column: `"1,5" is not a 64-bit integer`. */
    readonly description: string,
  ) {
    super(`${label}: ${description}`);
    this.column = label.split(" ")[0] ?? label;
  }
}
