/**
 * A typed client of the Kronos API for TypeScript programs: Bun, Node and browsers alike (it
 * speaks Connect or gRPC-web over fetch). JSON payloads travel as google.protobuf.Value:
 * `toValue` and `fromValue` convert plain JSON to and from them.
 */
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { KronosService } from "../gen/kronos/v1/kronos_pb.ts";

export { EventType, JobState, KronosService, RunStatus, StepStatus } from "../gen/kronos/v1/kronos_pb.ts";

/** The client's type: one async method per RPC (`startWorkflow`, `getRun`, `streamRunEvents`…). */
export type KronosClient = Client<typeof KronosService>;

export interface KronosClientOptions {
  /** Sent as `Authorization: Bearer <token>`; needed when the server has KRONOS_API_TOKEN set. */
  token?: string;
  /** Wire protocol: "connect" (default; JSON over HTTP/1.1 or 2) or "grpc-web". */
  protocol?: "connect" | "grpc-web";
  /** Send binary protobuf instead of JSON (smaller; default false). */
  binary?: boolean;
  /** A fetch to use instead of the global one (tests, proxies, custom agents). */
  fetch?: typeof globalThis.fetch;
  /** More interceptors, run before the request is sent. */
  interceptors?: Interceptor[];
}

/**
 * Creates a client of the Kronos API served at `baseUrl` (the admin address, e.g.
 * http://localhost:8080).
 *
 * @example
 * const kronos = createKronosClient("http://localhost:8080", { token: process.env.KRONOS_API_TOKEN });
 * const { run } = await kronos.startWorkflow({ workflowName: "data-pipeline", input: toValue({ userId: "u1" }) });
 * for await (const { event } of kronos.streamRunEvents({ runId: run!.id })) console.log(event?.type);
 */
export function createKronosClient(baseUrl: string, options: KronosClientOptions = {}): KronosClient {
  const auth: Interceptor[] = options.token
    ? [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${options.token}`);
          return next(req);
        },
      ]
    : [];
  const transportOptions = {
    baseUrl,
    useBinaryFormat: options.binary ?? false,
    interceptors: [...auth, ...(options.interceptors ?? [])],
    fetch: options.fetch,
  };
  const transport =
    options.protocol === "grpc-web"
      ? createGrpcWebTransport(transportOptions)
      : createConnectTransport(transportOptions);
  return createClient(KronosService, transport);
}

/**
 * Plain JSON as a google.protobuf.Value, for `input` and `payload` fields.
 *
 * @example
 * await kronos.submitJob({ type: "send-email", payload: toValue({ to: "a@example.com" }) });
 */
export function toValue(json: JsonValue): Value {
  return fromJson(ValueSchema, json);
}

/**
 * A google.protobuf.Value as plain JSON; undefined when the field is unset.
 *
 * @example
 * const output = fromValue(run.output) as { valid: boolean };
 */
export function fromValue(value: Value | undefined): JsonValue | undefined {
  return value === undefined ? undefined : toJson(ValueSchema, value);
}
