import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

/**
 * Serves gRPC server reflection (v1 and v1alpha) for the given services, so grpcurl and
 * `ghz --reflection` work without the proto files. @grpc/reflection reads the descriptors from a
 * proto-loader-style package definition; we hand it the FileDescriptorProtos embedded in the
 * protobuf-es generated code, with every transitive import.
 */
export function addReflection(server: Server, services: readonly DescService[]): void {
  const files = new Map<string, DescFile>();
  const visit = (file: DescFile): void => {
    if (files.has(file.name)) return;
    files.set(file.name, file);
    for (const dep of file.dependencies) visit(dep);
  };
  for (const service of services) visit(service.file);
  const fileDescriptorProtos = [...files.values()].map((f) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)),
  );
  const packageDefinition = Object.fromEntries(
    services.map((s) => [s.typeName, { fileDescriptorProtos }]),
  );
  new ReflectionService(packageDefinition as never, {
    services: services.map((s) => s.typeName),
  }).addToServer(server);
}
