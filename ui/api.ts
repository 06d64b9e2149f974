/**
 * The debugger's calls: the Kronos API over Connect (the same typed client users have), and the
 * debugger's own JSON endpoints. Both carry the token; a 401 from either opens the token prompt.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createKronosClient } from "../src/client/index.ts";
import { auth } from "./auth.ts";

const withToken: Interceptor = (next) => async (req) => {
  const token = auth.token;
  if (token) req.header.set("authorization", `Bearer ${token}`);
  try {
    return await next(req);
  } catch (error) {
    if (ConnectError.from(error).code === Code.Unauthenticated) auth.demand();
    throw error;
  }
};

/** Binary protobuf: a run's thousand events decode several times faster than from JSON. */
export const kronos = createKronosClient(location.origin, { binary: true, interceptors: [withToken] });

/** Headers for the debugger's own endpoints. */
export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const token = auth.token;
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** GET a debugger endpoint (under /debugger/api/) as JSON. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/debugger/api/${path}`, { headers: authHeaders({ accept: "application/json" }), signal });
  if (res.status === 401) {
    auth.demand();
    throw new Error("the server needs the API token");
  }
  const body = (await res.json().catch(() => ({}))) as T & { message?: string };
  if (!res.ok) throw new Error(body.message ?? `${res.status} ${res.statusText}`);
  return body;
}

/** An error as one line for the page: Connect errors without their "[code]" prefix noise. */
export function errorText(error: unknown): string {
  if (error instanceof ConnectError) {
    const code = Code[error.code]?.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase() ?? "error";
    return `${code}: ${error.rawMessage}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export const isNotFound = (error: unknown): boolean => error instanceof ConnectError && error.code === Code.NotFound;
