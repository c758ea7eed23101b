/**
 * The fixed bounds of the sale contract (the configurable ones arrive as `SaleLimits`). Shared by
 * the checks and by whatever builds sales, so a builder can stay inside them.
 */

/** The bounds a sale must respect that a deployment configures. */
export interface SaleLimits {
  readonly maxLineItems: number;
  readonly maxFutureSkewSeconds: number;
}

/** Ten trillion minor units: beyond any real sale, far inside int64, catches unit mix-ups. */
export const MAX_AMOUNT_MINOR = 10_000_000_000_000n;
/** One million units (in thousandths). */
export const MAX_QUANTITY_MILLI = 1_000_000_000n;
export const MAX_PAYMENTS = 100;
export const MAX_ATTRIBUTES = 64;
/** Sales before this are data errors (an unset POS clock), not history: 2000-01-01T00:00:00Z. */
export const MIN_OCCURRED_AT_SECONDS = 946_684_800n;
export const MAX_TAXES_PER_ITEM = 8;
export const MAX_BASKET_DISCOUNTS = 20;
export const MAX_SERVICE_CHARGES = 20;
/** Rates up to 1000% (excise duties), in parts per million. */
export const MAX_RATE_PPM = 10_000_000n;
/** The finest unit price: 10^-6 minor units. */
export const MAX_UNIT_PRICE_SCALE = 6;
/** Cash rounding increments, in minor units (CHF 0.05 is 5). */
export const MIN_CASH_INCREMENT = 2n;
export const MAX_CASH_INCREMENT = 100_000n;
