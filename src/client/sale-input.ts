import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SaleSchema } from "../../gen/pos/ingest/v1/sale_pb.js";

/** A sale as the client takes it: a `Sale` message or a plain object of its fields. */
export type SaleInput = MessageInitShape<typeof SaleSchema>;
