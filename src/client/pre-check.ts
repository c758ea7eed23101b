import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";
import { checkSale } from "../contract/check-sale.js";
import type { RuleViolation } from "../contract/violations.js";
import { DEFAULT_MAX_LINE_ITEMS } from "../contract/wire.js";

/** Whether and how the client checks a sale before sending it. */
export interface PreCheckOptions {
  /**
   * Check each sale with the server's own rules before sending (default true): a sale the server
   * would refuse costs no call and no rate-limit budget, and is reported exactly as the server
   * would report it. The future-skew check is left to the server, whose clock decides it.
   */
  readonly validate?: boolean | undefined;
  /** The server's MAX_LINE_ITEMS, for that check (default 5,000, the server's default). */
  readonly maxLineItems?: number | undefined;
}

/** The server's default MAX_LINE_ITEMS. */
export { DEFAULT_MAX_LINE_ITEMS };

// The latest time a Date can hold: no sale is "in the future" of it, so the skew check never fires.
const END_OF_TIME_MS = 8_640_000_000_000_000;

/** What the server's validation would say of `sale` (empty when valid or not asked to check). */
export function preCheck(
  sale: MessageInitShape<typeof SaleSchema>,
  options: PreCheckOptions,
): readonly RuleViolation[] {
  if (options.validate === false) return [];
  const limits = {
    maxLineItems: options.maxLineItems ?? DEFAULT_MAX_LINE_ITEMS,
    maxFutureSkewSeconds: 0,
  };
  return checkSale(create(SaleSchema, sale), limits, END_OF_TIME_MS);
}

/** The INVALID_ARGUMENT the server would answer, with its google.rpc.BadRequest. */
export function invalidArgument(violations: readonly RuleViolation[]): ConnectError {
  const message = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  const badRequest = create(BadRequestSchema, {
    fieldViolations: violations.map((v) => ({ field: v.field, description: v.description })),
  });
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: badRequest },
  ]);
}
