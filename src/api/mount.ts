/**
 * Serving one Connect router from two servers: the Hono admin app (Connect and gRPC-web over
 * HTTP/1.1, what browsers and curl speak) and a node:http2 server (gRPC over h2c, and Connect).
 */
import http2 from "node:http2";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  type UniversalHandler,
  type UniversalServerResponse,
  universalServerRequestFromFetch,
  universalServerResponseToFetch,
} from "@connectrpc/connect/protocol";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Hono } from "hono";

/** The part of Bun's server a handler reaches through Hono's `c.env`. */
interface BunServerLike {
  timeout?(request: Request, seconds: number): void;
}

/** Longest grpc-message sent (characters before percent-encoding); longer ones are cut short. */
const MAX_GRPC_MESSAGE = 1_000;

/**
 * Cuts a long grpc-message short, in place: an error quoting a long value (a 100 KB run id) made a
 * header block larger than HTTP/2 peers accept (64 KiB), and the h2c stream was reset with no status.
 */
function capGrpcMessage(headers: HeadersInit | undefined): void {
  if (!(headers instanceof Headers)) return;
  const encoded = headers.get("grpc-message");
  if (encoded === null || encoded.length <= MAX_GRPC_MESSAGE) return;
  let text = encoded;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    // not percent-encoded after all: cut the raw text
  }
  if (text.length <= MAX_GRPC_MESSAGE) return;
  const cut = `${text.slice(0, MAX_GRPC_MESSAGE).toWellFormed()}… (${text.length} characters in all)`;
  headers.set("grpc-message", encodeURIComponent(cut));
}

async function* cappingTrailerAtEnd(body: AsyncIterable<Uint8Array>, trailer: HeadersInit | undefined) {
  try {
    yield* body;
  } finally {
    capGrpcMessage(trailer);
  }
}

/**
 * Makes sure every gRPC and gRPC-web call gets its status where connect-es alone would not send
 * one (chaos scenario 5):
 * - a JSON body putting an unpaired surrogate where a number belongs ({"pageSize":"\ud800"}) fails
 *   to parse with a message quoting it, and encodeURIComponent (for grpc-message) throws on it: the
 *   handler rejected without an answer, so h2c calls hung and gRPC-web got a bare 500. Answered
 *   InvalidArgument here;
 * - a grpc-message too long for an HTTP/2 header block is cut short (capGrpcMessage).
 */
function answeringEveryCall(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    let res: UniversalServerResponse;
    try {
      res = await handler(req);
    } catch (error) {
      if (!(error instanceof URIError)) throw error;
      const contentType = req.header.get("content-type") ?? "application/grpc";
      const message = "the request holds text that is not well-formed Unicode (an unpaired surrogate)";
      // A trailers-only answer: the status travels in the headers, as both protocols allow.
      return {
        status: 200,
        header: new Headers({
          "content-type": contentType,
          "grpc-status": "3",
          "grpc-message": encodeURIComponent(message),
        }),
      };
    }
    // An error before the first message is already in the headers or trailer; a later one is
    // written to the trailer when the body ends.
    capGrpcMessage(res.header);
    capGrpcMessage(res.trailer);
    const body = res.body;
    if (body === undefined || body instanceof Uint8Array) return res;
    return { ...res, body: cappingTrailerAtEnd(body, res.trailer) };
  };
  return Object.assign(wrapped, handler);
}

/** Routes every procedure of `router` on the Hono app, at its path (/kronos.v1.KronosService/GetRun). */
export function mountConnect(app: Hono, router: ConnectRouter): void {
  for (const unguarded of router.handlers) {
    const handler = answeringEveryCall(unguarded);
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
      own.handlers.push(...router.handlers.map(answeringEveryCall));
    },
  });
  return http2.createServer(handle);
}
