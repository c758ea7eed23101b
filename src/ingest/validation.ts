/**
 * The server's view of the sale rules: the one implementation lives in src/contract/ (shared with
 * the client library and the CLI); this keeps the server's names for it.
 */
export { checkSale as validateSale } from "../contract/check-sale.js";
export {
  MAX_AMOUNT_MINOR,
  MAX_ATTRIBUTES,
  MAX_PAYMENTS,
  MAX_QUANTITY_MILLI,
  MIN_OCCURRED_AT_SECONDS,
  type SaleLimits as ValidationLimits,
} from "../contract/limits.js";
