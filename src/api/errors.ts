/**
 * The one place that turns what a handler threw into a Connect error. Domain errors keep their
 * message (it names the field and the fix); anything unexpected is logged here and reaches the
 * client as a generic Internal error, so stack traces and SQL never leave the server.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { isConnectionError, SqlState, sqlState } from "../db/index.ts";
import { type ErrorCode, KronosError } from "../errors.ts";
import type { Logger } from "../log.ts";

const CODES: Record<ErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  unauthenticated: Code.Unauthenticated,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  internal: Code.Internal,
};

/**
 * Prefixes `message` with `field` unless it already names it, so every refusal of bad input
 * tells the client which field to fix: `runId: run 1b… does not exist`.
 */
export function namingField(field: string | undefined, message: string): string {
  if (!field || new RegExp(`\\b${field.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(message)) return message;
  return `${field}: ${message}`;
}

/** Maps anything a handler threw to the ConnectError the client receives. */
export function toConnectError(error: unknown, log: Logger, method: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof KronosError) {
    const field = "field" in error && typeof error.field === "string" ? error.field : undefined;
    return new ConnectError(namingField(field, error.message), CODES[error.code]);
  }
  if (isConnectionError(error)) {
    log.warn("rpc failed: database unreachable", { method, error: String(error) });
    return new ConnectError("the database is unreachable; try again shortly", Code.Unavailable);
  }
  if (sqlState(error) === SqlState.QUERY_CANCELED) {
    return new ConnectError("the database cancelled the query; try again", Code.Unavailable);
  }
  log.error("rpc failed with an unexpected error", {
    method,
    error: String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new ConnectError("internal error; the server log has the details", Code.Internal);
}
