import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type {
  CashRounding,
  Customer,
  OriginalTransaction,
  RoundingRule,
  Sale,
  TransactionKind,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { type Reader, UNEXPECTED } from "./decode-reader.js";
import {
  readBasketDiscount,
  readLineItem,
  readPayment,
  readServiceCharge,
  readTotals,
} from "./decode-sale-parts.js";

// Tags of Sale's fields 16-20, which take two bytes: (number << 3 | wire type) as a number.
const LOYALTY_ACCOUNT_ID = (16 << 3) | 2;
const BASKET_DISCOUNTS = (17 << 3) | 2;
const SERVICE_CHARGES = (18 << 3) | 2;
const CASH_ROUNDING = (19 << 3) | 2;
const LINE_ROUNDING = 20 << 3;

/**
 * Reads a Sale in `[r.pos, end)` for the fast IngestRequest decoder, as protobuf-es would, or
 * throws UNEXPECTED. A singular message field seen twice is declined: protobuf-es merges the
 * two, which is not worth doing here.
 */
export function readSale(r: Reader, end: number): Sale {
  const sale: Sale = {
    $typeName: "pos.ingest.v1.Sale",
    saleId: "",
    locationId: "",
    registerId: "",
    source: "",
    currency: "",
    lineItems: [],
    payments: [],
    attributes: {},
    kind: 0,
    businessDay: "",
    cashierId: "",
    loyaltyAccountId: "",
    basketDiscounts: [],
    serviceCharges: [],
    lineRounding: 0,
  };
  while (r.pos < end) {
    let tag = r.byte();
    // A tag past field 15 takes a second byte; one with a third is no field of Sale's.
    if (tag >= 0x80) tag = (tag & 0x7f) | (r.byte() << 7);
    switch (tag) {
      case 0x0a:
        sale.saleId = r.string();
        break;
      case 0x12:
        sale.locationId = r.string();
        break;
      case 0x1a:
        sale.registerId = r.string();
        break;
      case 0x22:
        sale.source = r.string();
        break;
      case 0x2a:
        if (sale.occurredAt !== undefined) throw UNEXPECTED;
        sale.occurredAt = readTimestamp(r, r.end());
        break;
      case 0x32:
        sale.currency = r.string();
        break;
      case 0x3a:
        sale.lineItems.push(readLineItem(r, r.end()));
        break;
      case 0x42:
        sale.payments.push(readPayment(r, r.end()));
        break;
      case 0x4a:
        if (sale.totals !== undefined) throw UNEXPECTED;
        sale.totals = readTotals(r, r.end());
        break;
      case 0x52:
        if (sale.customer !== undefined) throw UNEXPECTED;
        sale.customer = readCustomer(r, r.end());
        break;
      case 0x5a:
        readAttribute(r, r.end(), sale.attributes);
        break;
      case 0x60:
        sale.kind = r.int32() as TransactionKind;
        break;
      case 0x6a:
        if (sale.original !== undefined) throw UNEXPECTED;
        sale.original = readOriginal(r, r.end());
        break;
      case 0x72:
        sale.businessDay = r.string();
        break;
      case 0x7a:
        sale.cashierId = r.string();
        break;
      case LOYALTY_ACCOUNT_ID:
        sale.loyaltyAccountId = r.string();
        break;
      case BASKET_DISCOUNTS:
        sale.basketDiscounts.push(readBasketDiscount(r, r.end()));
        break;
      case SERVICE_CHARGES:
        sale.serviceCharges.push(readServiceCharge(r, r.end()));
        break;
      case CASH_ROUNDING:
        if (sale.cashRounding !== undefined) throw UNEXPECTED;
        sale.cashRounding = readCashRounding(r, r.end());
        break;
      case LINE_ROUNDING:
        sale.lineRounding = r.int32() as RoundingRule;
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return sale;
}

function readTimestamp(r: Reader, end: number): Timestamp {
  const ts: Timestamp = { $typeName: "google.protobuf.Timestamp", seconds: 0n, nanos: 0 };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x08:
        ts.seconds = r.int64();
        break;
      case 0x10:
        ts.nanos = r.int32();
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return ts;
}

function readOriginal(r: Reader, end: number): OriginalTransaction {
  const original: OriginalTransaction = {
    $typeName: "pos.ingest.v1.OriginalTransaction",
    saleId: "",
    locationId: "",
    source: "",
    idempotencyKey: "",
    kind: 0,
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x0a:
        original.saleId = r.string();
        break;
      case 0x12:
        original.locationId = r.string();
        break;
      case 0x1a:
        original.source = r.string();
        break;
      case 0x22:
        original.idempotencyKey = r.string();
        break;
      case 0x28:
        original.kind = r.int32() as TransactionKind;
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return original;
}

function readCashRounding(r: Reader, end: number): CashRounding {
  const rounding: CashRounding = {
    $typeName: "pos.ingest.v1.CashRounding",
    incrementMinor: 0n,
    rule: 0,
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x08:
        rounding.incrementMinor = r.int64();
        break;
      case 0x10:
        rounding.rule = r.int32() as RoundingRule;
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return rounding;
}

function readCustomer(r: Reader, end: number): Customer {
  const customer: Customer = {
    $typeName: "pos.ingest.v1.Customer",
    customerId: "",
    name: "",
    email: "",
    phone: "",
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x0a:
        customer.customerId = r.string();
        break;
      case 0x12:
        customer.name = r.string();
        break;
      case 0x1a:
        customer.email = r.string();
        break;
      case 0x22:
        customer.phone = r.string();
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return customer;
}

function readAttribute(r: Reader, end: number, into: Record<string, string>): void {
  let key = "";
  let value = "";
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x0a:
        key = r.string();
        break;
      case 0x12:
        value = r.string();
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  // A key that names an Object.prototype member would not be an own property: leave the odd
  // case to protobuf-es.
  if (key in Object.prototype) throw UNEXPECTED;
  into[key] = value;
}
