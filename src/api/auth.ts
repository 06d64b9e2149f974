/**
 * Bearer-token checks for the API (and, through `bearerAuth`, for other routes of the admin app
 * such as the debugger). Tokens are compared in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MiddlewareHandler } from "hono";

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * Whether an Authorization header carries `Bearer <token>`. Both sides are hashed first, so the
 * comparison runs on equal-length buffers and takes the same time whatever the header holds.
 */
export function bearerMatches(header: string | null | undefined, token: string): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  const presented = digest(match?.[1] ?? "");
  // Hash and compare even without a token in the header, so a missing one costs the same time.
  return timingSafeEqual(presented, digest(token)) && match !== null;
}

const HINT = "send the header 'Authorization: Bearer <token>' with the token in KRONOS_API_TOKEN";

/** Throws Unauthenticated unless the header carries the token. */
export function requireBearer(header: string | null | undefined, token: string): void {
  if (bearerMatches(header, token)) return;
  throw new ConnectError(
    header ? `the bearer token is not valid; ${HINT}` : `authentication required: ${HINT}`,
    Code.Unauthenticated,
  );
}

/**
 * Hono middleware answering 401 unless the request carries the token; a no-op without a token.
 * For routes of the admin app outside the Connect router (the debugger UI and its SSE).
 *
 * @example
 * app.use("/debugger/*", bearerAuth(config.apiToken));
 */
export function bearerAuth(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (token === undefined || bearerMatches(c.req.header("authorization"), token)) return next();
    return c.json({ code: "unauthenticated", message: `authentication required: ${HINT}` }, 401, {
      "www-authenticate": 'Bearer realm="kronos"',
    });
  };
}
