import { describe, expect, it } from "vitest";
import { queryOperation } from "../../src/observability/metrics.js";

describe("queryOperation", () => {
  it("names every statement the service runs by its verb and table", () => {
    expect(queryOperation("insert into sales (a) select 1 on conflict do nothing")).toBe(
      "insert_sales",
    );
    expect(
      queryOperation(
        "\n    with r as (\n      select * from json_to_recordset($1::json) as r(a text))\n    insert into sales (a) select a from r",
      ),
    ).toBe("insert_sales");
    expect(
      queryOperation(
        "select s.id from jsonb_to_recordset($1::jsonb) as k(a text) join sales s on s.a = k.a",
      ),
    ).toBe("select_sales");
    expect(
      queryOperation(
        "with r as (select * from json_to_recordset($1::json) as r(i int4)) select r.i, (select v.k from sales v limit 1) from r",
      ),
    ).toBe("select_sales");
    expect(queryOperation("update sales s set kind = r.kind from json_to_recordset($1)")).toBe(
      "update_sales",
    );
    expect(queryOperation('select "tenant_id" from "sales" where "net_minor" is null')).toBe(
      "select_sales",
    );
    // The read-back: a `from` inside extract(epoch from …) is no table.
    expect(
      queryOperation(
        "\n    select idempotency_key, id::text as id,\n           (extract(epoch from accepted_at) * 1000000)::int8::text as accepted_us\n    from sales\n    where tenant_id = $1 and idempotency_key = any($2::text[])",
      ),
    ).toBe("select_sales");
    expect(queryOperation("select 1")).toBe("ping");
  });
});
