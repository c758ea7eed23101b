/**
 * The pos-ingest client library: `createIngestClient` for POS gateways, with idempotency keys
 * from the POS's own ids and retries that honour the server's retry delays.
 *
 * @packageDocumentation
 */
export type { MessageInitShape } from "@bufbuild/protobuf";
export { create } from "@bufbuild/protobuf";
export {
  LineKind,
  RoundingRule,
  type Sale,
  SaleSchema,
  TaxMode,
  TenderType,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
// The sale rules the server applies, to build totals that add up and check before sending (also
// published alone as `pos-ingest/rules`).
export {
  allocate,
  cashRound,
  checkSale,
  compareZReports,
  computeTotals,
  currencyExponent,
  type FigureDifference,
  figureLabel,
  lineAmount,
  looksLikePan,
  type RuleViolation,
  type SaleLimits,
  type TotalsAmounts,
  taxFromRate,
  type ZReport,
  type ZReportCounts,
  type ZReportCurrency,
  type ZReportTender,
  zReport,
  zReportDay,
} from "../contract/index.js";
export type { KeyDigest, KeyRange } from "../contract/key-digest.js";
export { Code, type FieldViolation, IngestError, isRetryable } from "./errors.js";
export {
  type ClientTlsOptions,
  createIngestClient,
  type HealthStatus,
  type IngestClient,
  type IngestClientOptions,
  type IngestOptions,
  type IngestResult,
  type SaleInput,
} from "./ingest-client.js";
export {
  DEFAULT_RECORDS_PER_MESSAGE,
  IngestManyError,
  type IngestManyOptions,
  type IngestManyProgress,
  type IngestManyResult,
  MAX_STREAM_SIZE,
  type ManyRejection,
  NO_PROGRESS,
} from "./ingest-many.js";
export { keyDigestOf, keyHash } from "./key-digest.js";
export type { ReconcileAnswer, ReconcileInput, ReconcileOptions } from "./reconcile.js";
export type {
  KeyDifferences,
  KeySearchOptions,
  SearchRound,
  ServerKey,
} from "./reconcile-keys.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
export { type SaleIdentity, saleKey } from "./sale-key.js";
