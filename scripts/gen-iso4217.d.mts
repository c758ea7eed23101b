/** Codes ISO lists with minor unit "N.A.", left out of the table. */
export const NO_MINOR_UNIT: readonly string[];
/** Codes the packaged List One lacks (XCG, and withdrawn codes backlogs carry), with exponents. */
export const SUPPLEMENT: Readonly<Record<string, number>>;
/** The text of src/contract/iso4217.ts for the given `currency-codes` data. */
export function renderIso4217(
  data: readonly { code: string; digits: number }[],
  publishDate: string,
): string;
/** The committed table's text, from the installed package. */
export function currentIso4217(): string;
