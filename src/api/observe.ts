/**
 * What every call goes through: the request gate (authentication, and the start of the clock,
 * before the body is read) and the interceptor (domain errors mapped to Connect codes). Each call
 * is counted and timed once, when Connect ends it, so calls refused before reaching a handler
 * (bad token, unparseable body, over the size limit) are in the metrics and logs too.
 */
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
  type Interceptor,
  type StreamResponse,
} from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import type { Logger } from "../log.ts";
import type { KronosMetrics } from "../metrics/index.ts";
import { requireBearer } from "./auth.ts";
import { toConnectError } from "./errors.ts";

/** The RPC metrics of the Kronos metric set. */
export type RpcMetrics = Pick<KronosMetrics, "rpcRequests" | "rpcDuration">;

export interface ObserveOptions {
  log: Logger;
  metrics?: RpcMetrics;
  /** When set, every RPC but health checks needs `Authorization: Bearer <apiToken>`. */
  apiToken?: string;
}

interface Call {
  readonly method: string;
  readonly protocol: string;
  readonly started: number;
  /** Set by the interceptor when the handler answered; otherwise read from the abort reason. */
  code?: string;
}

const callKey = createContextKey<Call | undefined>(undefined, { description: "kronos rpc call" });

function outcome(call: Call, reason: unknown): string {
  if (call.code) return call.code;
  if (reason instanceof ConnectError) return codeToString(reason.code);
  // The request's own signal fired: the client hung up before an answer.
  return (reason as { name?: string } | undefined)?.name === "AbortError" ? codeToString(Code.Canceled) : "unknown";
}

/** Connect's request gate: starts the call's record, then checks the bearer token. */
export function createRequestGate(o: ObserveOptions): (context: HandlerContext) => void {
  return (context) => {
    const call: Call = {
      method: `${context.service.typeName}/${context.method.name}`,
      protocol: context.protocolName,
      started: performance.now(),
    };
    context.values.set(callKey, call);
    const finish = () => {
      const code = outcome(call, context.signal.reason);
      const seconds = (performance.now() - call.started) / 1000;
      o.metrics?.rpcRequests.inc({ method: call.method, code });
      o.metrics?.rpcDuration.observe({ method: call.method }, seconds);
      o.log.debug("rpc", { method: call.method, protocol: call.protocol, code, ms: Math.round(seconds * 1000) });
    };
    if (context.signal.aborted) finish();
    else context.signal.addEventListener("abort", finish, { once: true });
    if (o.apiToken !== undefined && context.service.typeName !== Health.typeName) {
      requireBearer(context.requestHeader.get("authorization"), o.apiToken);
    }
  };
}

/** Maps what handlers throw to Connect errors (errors.ts), and notes each call's code. */
export function createErrorInterceptor(o: ObserveOptions): Interceptor {
  return (next) => async (req) => {
    const call = req.contextValues.get(callKey);
    const method = `${req.service.typeName}/${req.method.name}`;
    const fail = (error: unknown): ConnectError => {
      const mapped = toConnectError(error, o.log, method);
      if (call) call.code ??= codeToString(mapped.code);
      return mapped;
    };
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (error) {
      throw fail(error);
    }
    if (!res.stream) {
      if (call) call.code ??= "ok";
      return res;
    }
    async function* mapped(messages: StreamResponse["message"]) {
      try {
        yield* messages;
        if (call) call.code ??= "ok";
      } catch (error) {
        throw fail(error);
      }
    }
    return { ...res, message: mapped(res.message) };
  };
}
