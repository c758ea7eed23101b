import type {
  AppliedDiscount,
  BasketDiscount,
  LineItem,
  LineKind,
  LineTax,
  Payment,
  ServiceCharge,
  TaxMode,
  TenderType,
  Totals,
} from "../../gen/pos/ingest/v1/sale_pb.js";
import { type Reader, UNEXPECTED } from "./decode-reader.js";

// Readers of the Sale's repeated parts and totals, for the fast IngestRequest decoder
// (ingest-request-decoder.ts). Each takes its message's fields with their declared wire types,
// in any order, a scalar field again replacing the earlier value as in protobuf-es; anything
// else throws UNEXPECTED. Each object has the keys, in the order, that protobuf-es' create()
// gives it, so the decoded sale has the same shape as fromBinary's.
//
// Enums are open in proto3: protobuf-es keeps a value it has no name for, and so do these;
// validation refuses it.

export function readLineItem(r: Reader, end: number): LineItem {
  const item: LineItem = {
    $typeName: "pos.ingest.v1.LineItem",
    sku: "",
    name: "",
    quantityMilli: 0n,
    unitPriceMinor: 0n,
    discountMinor: 0n,
    taxMinor: 0n,
    kind: 0,
    voided: false,
    taxes: [],
    appliedDiscounts: [],
    unitPriceScaled: 0n,
    unitPriceScale: 0,
    lineId: "",
    originalLineId: "",
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x0a:
        item.sku = r.string();
        break;
      case 0x12:
        item.name = r.string();
        break;
      case 0x18:
        item.quantityMilli = r.int64();
        break;
      case 0x20:
        item.unitPriceMinor = r.int64();
        break;
      case 0x28:
        item.discountMinor = r.int64();
        break;
      case 0x30:
        item.taxMinor = r.int64();
        break;
      case 0x38:
        item.kind = r.int32() as LineKind;
        break;
      case 0x40:
        item.voided = r.bool();
        break;
      case 0x4a:
        item.taxes.push(readLineTax(r, r.end()));
        break;
      case 0x52:
        item.appliedDiscounts.push(readAppliedDiscount(r, r.end()));
        break;
      case 0x58:
        item.unitPriceScaled = r.int64();
        break;
      case 0x60:
        item.unitPriceScale = r.uint32();
        break;
      case 0x6a:
        item.lineId = r.string();
        break;
      case 0x72:
        item.originalLineId = r.string();
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return item;
}

function readLineTax(r: Reader, end: number): LineTax {
  const tax: LineTax = {
    $typeName: "pos.ingest.v1.LineTax",
    code: "",
    name: "",
    ratePpm: 0n,
    amountMinor: 0n,
    mode: 0,
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x0a:
        tax.code = r.string();
        break;
      case 0x12:
        tax.name = r.string();
        break;
      case 0x18:
        tax.ratePpm = r.int64();
        break;
      case 0x20:
        tax.amountMinor = r.int64();
        break;
      case 0x28:
        tax.mode = r.int32() as TaxMode;
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return tax;
}

function readAppliedDiscount(r: Reader, end: number): AppliedDiscount {
  const applied: AppliedDiscount = {
    $typeName: "pos.ingest.v1.AppliedDiscount",
    discountIndex: 0,
    amountMinor: 0n,
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x08:
        applied.discountIndex = r.uint32();
        break;
      case 0x10:
        applied.amountMinor = r.int64();
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return applied;
}

export function readPayment(r: Reader, end: number): Payment {
  const payment: Payment = {
    $typeName: "pos.ingest.v1.Payment",
    tenderType: 0,
    amountMinor: 0n,
    tipMinor: 0n,
    tenderedMinor: 0n,
    changeMinor: 0n,
    cardBrand: "",
    cardLast4: "",
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x08:
        payment.tenderType = r.int32() as TenderType;
        break;
      case 0x10:
        payment.amountMinor = r.int64();
        break;
      case 0x18:
        payment.tipMinor = r.int64();
        break;
      case 0x20:
        payment.tenderedMinor = r.int64();
        break;
      case 0x28:
        payment.changeMinor = r.int64();
        break;
      case 0x32:
        payment.cardBrand = r.string();
        break;
      case 0x3a:
        payment.cardLast4 = r.string();
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return payment;
}

export function readTotals(r: Reader, end: number): Totals {
  const totals: Totals = {
    $typeName: "pos.ingest.v1.Totals",
    subtotalMinor: 0n,
    discountMinor: 0n,
    taxMinor: 0n,
    totalMinor: 0n,
    serviceChargeMinor: 0n,
    includedTaxMinor: 0n,
    roundingMinor: 0n,
    tipMinor: 0n,
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x08:
        totals.subtotalMinor = r.int64();
        break;
      case 0x10:
        totals.discountMinor = r.int64();
        break;
      case 0x18:
        totals.taxMinor = r.int64();
        break;
      case 0x20:
        totals.totalMinor = r.int64();
        break;
      case 0x28:
        totals.serviceChargeMinor = r.int64();
        break;
      case 0x30:
        totals.includedTaxMinor = r.int64();
        break;
      case 0x38:
        totals.roundingMinor = r.int64();
        break;
      case 0x40:
        totals.tipMinor = r.int64();
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return totals;
}

export function readBasketDiscount(r: Reader, end: number): BasketDiscount {
  const discount: BasketDiscount = {
    $typeName: "pos.ingest.v1.BasketDiscount",
    code: "",
    name: "",
    amountMinor: 0n,
    ratePpm: 0n,
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x0a:
        discount.code = r.string();
        break;
      case 0x12:
        discount.name = r.string();
        break;
      case 0x18:
        discount.amountMinor = r.int64();
        break;
      case 0x20:
        discount.ratePpm = r.int64();
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return discount;
}

export function readServiceCharge(r: Reader, end: number): ServiceCharge {
  const charge: ServiceCharge = {
    $typeName: "pos.ingest.v1.ServiceCharge",
    code: "",
    name: "",
    amountMinor: 0n,
    kind: 0,
    taxes: [],
  };
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x0a:
        charge.code = r.string();
        break;
      case 0x12:
        charge.name = r.string();
        break;
      case 0x18:
        charge.amountMinor = r.int64();
        break;
      case 0x20:
        charge.kind = r.int32() as LineKind;
        break;
      case 0x2a:
        charge.taxes.push(readLineTax(r, r.end()));
        break;
      default:
        throw UNEXPECTED;
    }
  }
  if (r.pos !== end) throw UNEXPECTED;
  return charge;
}
