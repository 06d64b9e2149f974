/**
 * Serving one Connect router from two servers: the Hono admin app (Connect and gRPC-web over
 * HTTP/1.1, what browsers and curl speak) and a node:http2 server (gRPC over h2c, and Connect).
 */
import http2 from "node:http2";
import type { ConnectRouter } from "@connectrpc/connect";
import { universalServerRequestFromFetch, universalServerResponseToFetch } from "@connectrpc/connect/protocol";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Hono } from "hono";

/** The part of Bun's server a handler reaches through Hono's `c.env`. */
interface BunServerLike {
  timeout?(request: Request, seconds: number): void;
}

/** Routes every procedure of `router` on the Hono app, at its path (/kronos.v1.KronosService/GetRun). */
export function mountConnect(app: Hono, router: ConnectRouter): void {
  for (const handler of router.handlers) {
    app.all(handler.requestPath, async (c) => {
      // Bun closes connections idle for 10 s; a stream waiting for the next event is not idle.
      if (handler.method.methodKind !== "unary") (c.env as BunServerLike | undefined)?.timeout?.(c.req.raw, 0);
      const response = await handler(universalServerRequestFromFetch(c.req.raw, { httpVersion: "1.1" }));
      return universalServerResponseToFetch(response);
    });
  }
}

/** An h2c server answering every procedure of `router`; the caller listens and closes it. */
export function createH2cServer(router: ConnectRouter): http2.Http2Server {
  const handle = connectNodeAdapter({
    // The adapter builds a router of its own: hand it the handlers already built, so both ports
    // run the same handlers with the same gate, interceptor and limits.
    routes: (own) => {
      own.handlers.push(...router.handlers);
    },
  });
  return http2.createServer(handle);
}
