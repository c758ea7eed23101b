import { describe, expect, it } from "vitest";
import { TransactionKind } from "../../gen/pos/ingest/v1/sale_pb.js";
import { saleKey } from "../../src/client/sale-key.js";

describe("saleKey", () => {
  const identity = { source: "acme-pos", locationId: "store 7", saleId: "1001" };

  it("is the POS identity for every kind but a post-void (v1 keys unchanged)", () => {
    expect(saleKey(identity)).toBe("pos:acme-pos:store%207:1001");
    for (const kind of [
      TransactionKind.UNSPECIFIED,
      TransactionKind.SALE,
      TransactionKind.RETURN,
      TransactionKind.EXCHANGE,
    ]) {
      expect(saleKey({ ...identity, kind })).toBe("pos:acme-pos:store%207:1001");
    }
  });

  it("gives a post-void its own key, also when hashed", () => {
    expect(saleKey({ ...identity, kind: TransactionKind.POST_VOID })).toBe(
      "pos:acme-pos:store%207:1001:post-void",
    );
    const long = { ...identity, saleId: "x".repeat(300) };
    const voided = saleKey({ ...long, kind: TransactionKind.POST_VOID });
    expect(voided).toBe(`${saleKey(long)}:post-void`);
    expect(voided).toMatch(/^pos-sha256:[0-9a-f]{64}:post-void$/);
  });
});
