/**
 * gRPC server reflection (grpc.reflection.v1 and the older v1alpha that some clients still ask
 * for), so grpcurl, `buf curl --reflect` and Postman can call Kronos without a copy of the protos.
 * Answers come from the descriptors protoc-gen-es embeds in src/gen, not from .proto files on disk,
 * so a compiled binary describes exactly the schema it was built with.
 */
import { type DescExtension, type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "../gen/grpc/reflection/v1/reflection_pb.ts";
import { ServerReflection as ServerReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.ts";

/** A reflection question: the `message_request` oneof, shared by v1 and v1alpha. */
type Question =
  | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: undefined; value?: undefined };

/** A reflection answer: the `message_response` oneof, shared by v1 and v1alpha. */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Every file reachable from a set of services, indexed the ways reflection asks for them. */
export class DescriptorIndex {
  readonly serviceNames: string[];
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  readonly #extensions = new Map<string, DescExtension[]>();
  readonly #encoded = new Map<DescFile, Uint8Array>();

  constructor(services: readonly DescService[]) {
    this.serviceNames = [...new Set(services.map((service) => service.typeName))];
    for (const service of services) this.#addFile(service.file);
  }

  #addFile(file: DescFile): void {
    if (this.#files.has(file.proto.name)) return;
    this.#files.set(file.proto.name, file);
    for (const type of nestedTypes(file)) {
      this.#symbols.set(type.typeName, file);
      if (type.kind === "service") {
        for (const method of type.methods) this.#symbols.set(`${type.typeName}.${method.name}`, file);
      }
      if (type.kind === "extension") {
        const extendee = type.extendee.typeName;
        this.#extensions.set(extendee, [...(this.#extensions.get(extendee) ?? []), type]);
      }
    }
    for (const dependency of file.dependencies) this.#addFile(dependency);
  }

  answer(question: Question): Answer {
    switch (question.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: this.serviceNames.map((name) => ({ name })) } };
      case "fileByFilename":
        return this.#filesAnswer(this.#files.get(question.value), `no file "${question.value}"`);
      case "fileContainingSymbol":
        return this.#filesAnswer(this.#symbols.get(question.value), `no symbol "${question.value}"`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = question.value;
        const extension = this.#extensions.get(containingType)?.find((e) => e.number === extensionNumber);
        return this.#filesAnswer(extension?.file, `no extension ${extensionNumber} of "${containingType}"`);
      }
      case "allExtensionNumbersOfType": {
        if (!this.#symbols.has(question.value)) return notFound(`no type "${question.value}"`);
        const numbers = (this.#extensions.get(question.value) ?? []).map((e) => e.number);
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: question.value, extensionNumber: numbers },
        };
      }
      default:
        return {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "message_request is not set" },
        };
    }
  }

  /** The file first, then its transitive dependencies: clients need all of them to link it. */
  #filesAnswer(file: DescFile | undefined, missing: string): Answer {
    if (!file) return notFound(missing);
    const closure = new Set<DescFile>();
    const visit = (f: DescFile) => {
      if (closure.has(f)) return;
      closure.add(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: [...closure].map((f) => this.#encode(f)) } };
  }

  #encode(file: DescFile): Uint8Array {
    let bytes = this.#encoded.get(file);
    if (!bytes) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.#encoded.set(file, bytes);
    }
    return bytes;
  }
}

const notFound = (errorMessage: string): Answer => ({
  case: "errorResponse",
  value: { errorCode: Code.NotFound, errorMessage },
});

/**
 * Mounts reflection v1 and v1alpha on a router, describing `services` (and reflection itself).
 * Listing needs only descriptors, so a service can be described before its handlers are mounted.
 *
 * @example
 * registerReflection(router, [KronosService, Health]);
 */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): ConnectRouter {
  const index = new DescriptorIndex([...services, ServerReflectionV1, ServerReflectionV1alpha]);
  router.service(ServerReflectionV1, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield {
          validHost: request.host,
          originalRequest: request,
          messageResponse: index.answer(request.messageRequest),
        };
      }
    },
  });
  router.service(ServerReflectionV1alpha, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield {
          validHost: request.host,
          originalRequest: request,
          messageResponse: index.answer(request.messageRequest),
        };
      }
    },
  });
  return router;
}
