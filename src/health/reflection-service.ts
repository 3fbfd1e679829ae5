import { type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createFileIndex, type FileIndex } from "./file-index.js";

/** The reflection services, in both package names grpcurl and buf curl try. */
export const reflectionServiceNames = [v1.ServerReflection.typeName, v1alpha.ServerReflection.typeName] as const;

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/**
 * Registers gRPC server reflection (`grpc.reflection.v1` and `v1alpha`) on
 * `router`, describing every service registered on it (read at each call,
 * so services registered later are included). Bidi streaming: HTTP/2 only.
 */
export function registerReflection(router: ConnectRouter): void {
  let cached: { count: number; index: FileIndex; names: string[] } | undefined;
  const current = () => {
    const services = [...new Set(router.handlers.map((h) => h.service))];
    if (cached?.count !== services.length) {
      cached = { count: services.length, index: createFileIndex(services as DescService[]), names: services.map((s) => s.typeName).sort() };
    }
    return cached;
  };
  const impl = {
    async *serverReflectionInfo(requests: AsyncIterable<Request>) {
      const sent = new Set<string>();
      for await (const req of requests) yield answer(req, current(), sent);
    },
  };
  router.service(v1.ServerReflection, impl);
  router.service(v1alpha.ServerReflection, impl);
}

function answer(req: Request, state: { index: FileIndex; names: string[] }, sent: Set<string>) {
  const r = req.messageRequest;
  const originalRequest = {
    host: req.host,
    messageRequest:
      r.case === "fileContainingExtension"
        ? { case: r.case, value: { containingType: r.value.containingType, extensionNumber: r.value.extensionNumber } }
        : r,
  } as const;
  const base = { validHost: req.host, originalRequest };
  const notFound = (message: string) => ({
    ...base,
    messageResponse: { case: "errorResponse" as const, value: { errorCode: Code.NotFound, errorMessage: message } },
  });
  const files = (file: ReturnType<FileIndex["file"]>, what: string) => {
    if (!file) return notFound(`${what} not found`);
    // Send the file and the imports not yet sent on this stream (the file itself always).
    const out = state.index.withDependencies(file).filter((f, i) => i === 0 || !sent.has(f.proto.name));
    for (const f of out) sent.add(f.proto.name);
    return {
      ...base,
      messageResponse: {
        case: "fileDescriptorResponse" as const,
        value: { fileDescriptorProto: out.map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
      },
    };
  };
  switch (r.case) {
    case "listServices":
      return {
        ...base,
        messageResponse: { case: "listServicesResponse" as const, value: { service: state.names.map((name) => ({ name })) } },
      };
    case "fileByFilename":
      return files(state.index.file(r.value), `file "${r.value}"`);
    case "fileContainingSymbol":
      return files(state.index.fileOfSymbol(r.value), `symbol "${r.value}"`);
    case "fileContainingExtension":
      return files(
        state.index.fileOfExtension(r.value.containingType, r.value.extensionNumber),
        `extension ${r.value.extensionNumber} of "${r.value.containingType}"`,
      );
    case "allExtensionNumbersOfType":
      if (!state.index.fileOfSymbol(r.value)) return notFound(`type "${r.value}" not found`);
      return {
        ...base,
        messageResponse: {
          case: "allExtensionNumbersResponse" as const,
          value: { baseTypeName: r.value, extensionNumber: state.index.extensionNumbers(r.value) },
        },
      };
    default:
      return {
        ...base,
        messageResponse: { case: "errorResponse" as const, value: { errorCode: Code.InvalidArgument, errorMessage: "empty request" } },
      };
  }
}
