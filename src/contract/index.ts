/**
 * The sale contract's rules in one module, for the server, the client library, the CLI and any
 * gateway (browser included: it imports only gen/ and @bufbuild/protobuf).
 */
export { checkSale } from "./check-sale.js";
export { currencyExponent, ISO4217 } from "./iso4217.js";
export * from "./limits.js";
export { allocate, cashRound, PPM, roundDiv, taxFromRate } from "./money.js";
export { looksLikePan, passesLuhn } from "./pan.js";
export {
  addedTaxOf,
  computeTotals,
  type LineItemInput,
  type LineTaxInput,
  lineAmount,
  lineDiscount,
  type PaymentInput,
  type SaleInput,
  type ServiceChargeInput,
  signOf,
  type TotalsAmounts,
} from "./sale-rules.js";
export { MAX_VIOLATIONS, PAN_TEXT, type RuleViolation } from "./violations.js";
export * from "./wire.js";
export {
  COUNT_FIGURES,
  CURRENCY_FIGURES,
  compareZReports,
  emptyCurrency,
  emptyTender,
  type FigureDifference,
  figureLabel,
  fromWireFigure,
  TENDER_FIGURES,
  tenderTypeName,
  wireFigure,
  type ZReport,
  type ZReportCounts,
  type ZReportCurrency,
  type ZReportTender,
  zReport,
  zReportDay,
} from "./z-report.js";
