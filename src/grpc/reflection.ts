import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { ERROR_DETAIL_FILES } from "./status.js";

/**
 * The services `addReflection` itself registers (v1, and v1alpha for older grpcurl and ghz), so
 * reflection and the metrics describe them like any other.
 */
export const REFLECTION_SERVICES: readonly DescService[] = [
  ServerReflectionV1,
  ServerReflectionV1alpha,
];

/**
 * Serves gRPC server reflection (v1 and v1alpha) describing every service the server serves
 * (`services`, plus reflection itself) and the error-detail messages it sends in
 * `grpc-status-details-bin`, so grpcurl and `ghz --reflection` work without the proto files and
 * grpcurl can print an error's google.rpc.BadRequest instead of "not recognized".
 * @grpc/reflection reads the descriptors from a proto-loader-style package definition; we hand it
 * the FileDescriptorProtos embedded in the protobuf-es generated code, with every transitive import.
 */
export function addReflection(server: Server, services: readonly DescService[]): void {
  const described = [...new Set([...services, ...REFLECTION_SERVICES])];
  const files = new Map<string, DescFile>();
  const visit = (file: DescFile): void => {
    if (files.has(file.name)) return;
    files.set(file.name, file);
    for (const dep of file.dependencies) visit(dep);
  };
  for (const service of described) visit(service.file);
  for (const file of ERROR_DETAIL_FILES) visit(file);
  const fileDescriptorProtos = [...files.values()].map((f) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)),
  );
  // The library merges the files of every entry and lists only the whitelisted services; one
  // entry carrying all files is enough.
  const packageDefinition = { "pos-ingest": { fileDescriptorProtos } };
  new ReflectionService(packageDefinition as never, {
    services: described.map((s) => s.typeName),
  }).addToServer(server);
}
