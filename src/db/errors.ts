/** SQLSTATE codes the code reacts to, by name. */
export const SqlState = {
  UNIQUE_VIOLATION: "23505",
  FOREIGN_KEY_VIOLATION: "23503",
  CHECK_VIOLATION: "23514",
  INVALID_TEXT_REPRESENTATION: "22P02",
  QUERY_CANCELED: "57014",
  ADMIN_SHUTDOWN: "57P01",
  CANNOT_CONNECT_NOW: "57P03",
  SERIALIZATION_FAILURE: "40001",
  DEADLOCK_DETECTED: "40P01",
} as const;

/** The SQLSTATE of a database error from either backend, if it has one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** Socket and driver error codes that mean the connection is gone (a write to it fails with EPIPE). */
const CONNECTION_LOST = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "CONNECTION_DESTROYED",
]);

/** True when the error means the server or connection went away (retry later, do not crash). */
export function isConnectionError(error: unknown): boolean {
  const state = sqlState(error);
  if (state?.startsWith("08") || state === SqlState.ADMIN_SHUTDOWN || state === SqlState.CANNOT_CONNECT_NOW)
    return true;
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" && CONNECTION_LOST.has(code);
}

/**
 * True when the server rolled the transaction back because of other transactions (a deadlock it
 * broke by choosing this one, or a serialization failure): the same transaction may succeed if
 * run again.
 */
export function isTransactionConflict(error: unknown): boolean {
  const state = sqlState(error);
  return state === SqlState.DEADLOCK_DETECTED || state === SqlState.SERIALIZATION_FAILURE;
}
