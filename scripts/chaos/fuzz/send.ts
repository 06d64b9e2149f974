// Sends fuzz requests as raw bytes (fetch for HTTP/1.1, node:http2 for h2c) and reads what came
// back as a Connect or gRPC code: "ok", "invalid_argument"…, "http-404" for an answer with no code,
// "stream-open" for a stream still open when the client hung up, or a transport failure.
import http2 from "node:http2";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { FuzzRequest } from "./requests.ts";

export interface Answer {
  status: number;
  code: string;
  /** Set when the answer breaks a rule: a 5xx without a code, no grpc-status, a hang, a reset. */
  anomaly?: string;
  /** The response message (unary success only), for counting what the request created. */
  body?: Uint8Array;
  ms: number;
}

const UNARY_TIMEOUT_MS = 20_000;
const STREAM_TIMEOUT_MS = 2_000;

const grpcName = (n: string | undefined | null) =>
  n === undefined || n === null ? undefined : n === "0" ? "ok" : codeToString(Number(n));

/** Reads a Connect error body (`{"code": "...", "message": "..."}`) or undefined. */
function connectCode(bytes: Uint8Array): string | undefined {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { code?: unknown };
    return typeof parsed.code === "string" ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}

/** The envelopes of a Connect or gRPC-web stream body. */
function envelopes(bytes: Uint8Array): { flags: number; data: Uint8Array }[] {
  const out: { flags: number; data: Uint8Array }[] = [];
  let at = 0;
  while (at + 5 <= bytes.length) {
    const flags = bytes[at] as number;
    const len = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
    out.push({ flags, data: bytes.subarray(at + 5, at + 5 + len) });
    at += 5 + len;
  }
  return out;
}

function classifyConnect(req: FuzzRequest, status: number, contentType: string, body: Uint8Array): Answer {
  if (status === 200 && contentType.startsWith("application/connect+")) {
    const end = envelopes(body).find((e) => (e.flags & 0x02) !== 0);
    if (!end) return { status, code: "stream-open", ms: 0 };
    try {
      const parsed = JSON.parse(new TextDecoder().decode(end.data)) as { error?: { code?: string } };
      return { status, code: parsed.error?.code ?? "ok", ms: 0 };
    } catch {
      return { status, code: "none", anomaly: "stream end without a readable end message", ms: 0 };
    }
  }
  if (status === 200) return { status, code: "ok", body, ms: 0 };
  const code = connectCode(body);
  if (code) return { status, code, ms: 0 };
  return {
    status,
    code: `http-${status}`,
    anomaly: status >= 500 ? `HTTP ${status} without a Connect code on ${req.path}` : undefined,
    ms: 0,
  };
}

function classifyGrpcWeb(status: number, headers: Headers, body: Uint8Array): Answer {
  const inHeaders = grpcName(headers.get("grpc-status"));
  if (inHeaders) return { status, code: inHeaders, body: inHeaders === "ok" ? body : undefined, ms: 0 };
  const trailer = envelopes(body).find((e) => (e.flags & 0x80) !== 0);
  const m = trailer && new TextDecoder().decode(trailer.data).match(/grpc-status:\s*(\d+)/i);
  if (m) {
    const code = grpcName(m[1]) as string;
    const message = envelopes(body).find((e) => (e.flags & 0x80) === 0);
    return { status, code, body: code === "ok" ? message?.data : undefined, ms: 0 };
  }
  return {
    status,
    code: `http-${status}`,
    anomaly: status >= 500 || status === 200 ? `gRPC-web answer without grpc-status (HTTP ${status})` : undefined,
    ms: 0,
  };
}

/** One HTTP/2 session per sender, replaced when the server closes it. */
export class Sender {
  #session: http2.ClientHttp2Session | undefined;

  constructor(
    private readonly adminPort: number,
    private readonly grpcPort: number,
  ) {}

  #h2(): http2.ClientHttp2Session {
    if (!this.#session || this.#session.closed || this.#session.destroyed) {
      this.#session = http2.connect(`http://127.0.0.1:${this.grpcPort}`);
      this.#session.on("error", () => {});
    }
    return this.#session;
  }

  async send(req: FuzzRequest): Promise<Answer> {
    const t0 = performance.now();
    const answer =
      req.transport === "grpc" || req.transport === "connect-json-h2"
        ? await this.#sendH2(req)
        : await this.#sendHttp1(req);
    answer.ms = performance.now() - t0;
    return answer;
  }

  async #sendHttp1(req: FuzzRequest): Promise<Answer> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), req.streaming ? STREAM_TIMEOUT_MS : UNARY_TIMEOUT_MS);
    let status = 0;
    try {
      const res = await fetch(`http://127.0.0.1:${this.adminPort}${req.path}`, {
        method: "POST",
        headers: req.headers,
        body: req.body as Uint8Array<ArrayBuffer>,
        signal: abort.signal,
      });
      status = res.status;
      const body = new Uint8Array(await res.arrayBuffer());
      if (req.transport === "grpc-web") return classifyGrpcWeb(status, res.headers, body);
      return classifyConnect(req, status, res.headers.get("content-type") ?? "", body);
    } catch (error) {
      if (abort.signal.aborted) {
        if (req.streaming && status === 200) return { status, code: "stream-open", ms: 0 };
        return { status, code: "timeout", anomaly: `no answer within ${UNARY_TIMEOUT_MS} ms on ${req.path}`, ms: 0 };
      }
      return { status, code: "transport-error", anomaly: `${req.path}: ${String(error)}`, ms: 0 };
    } finally {
      clearTimeout(timer);
    }
  }

  #sendH2(req: FuzzRequest): Promise<Answer> {
    return new Promise((resolve) => {
      let session: http2.ClientHttp2Session;
      try {
        session = this.#h2();
      } catch (error) {
        resolve({ status: 0, code: "transport-error", anomaly: String(error), ms: 0 });
        return;
      }
      const stream = session.request({ ":method": "POST", ":path": req.path, ...req.headers });
      let status = 0;
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      let done = false;
      const finish = (a: Omit<Answer, "ms">) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ ...a, ms: 0 });
      };
      const timer = setTimeout(
        () => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          if (req.streaming && status === 200) finish({ status, code: "stream-open" });
          else finish({ status, code: "timeout", anomaly: `no answer within ${UNARY_TIMEOUT_MS} ms on ${req.path}` });
        },
        req.streaming ? STREAM_TIMEOUT_MS : UNARY_TIMEOUT_MS,
      );
      stream.on("response", (h) => {
        headers = h;
        status = Number(h[":status"]);
      });
      stream.on("trailers", (t) => {
        trailers = t;
      });
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", (error) =>
        finish({ status, code: "transport-error", anomaly: `${req.path}: ${String(error)}` }),
      );
      stream.on("close", () => {
        const body = new Uint8Array(Buffer.concat(chunks));
        if (req.transport === "connect-json-h2") {
          finish(classifyConnect(req, status, String(headers["content-type"] ?? ""), body));
          return;
        }
        const code = grpcName((trailers["grpc-status"] ?? headers["grpc-status"]) as string | undefined);
        if (code) {
          finish({ status, code, body: code === "ok" ? envelopes(body)[0]?.data : undefined });
          return;
        }
        finish({
          status,
          code: status ? `http-${status}` : "reset",
          anomaly:
            status === 0 || status >= 500 || status === 200
              ? `gRPC answer without grpc-status (HTTP ${status}) on ${req.path}`
              : undefined,
        });
      });
      stream.end(req.body);
    });
  }

  close(): void {
    this.#session?.close();
  }
}
