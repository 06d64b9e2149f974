// gRPC answers that could not be sent (found by chaos scenario 5): every call gets its status.
// - A JSON body with an unpaired surrogate where a number belongs ({"pageSize":"\ud800"}) fails to
//   parse with a message quoting it; connect-es percent-encodes grpc-message with
//   encodeURIComponent, which throws on it, and the call was never answered (gRPC-web: a bare 500).
// - An error quoting a long value (a 100 KB run id) made a grpc-message trailer larger than an
//   HTTP/2 header block may be: the h2c stream was reset, with no status.
import { afterAll, beforeAll, expect, test } from "bun:test";
import http2 from "node:http2";
import type { RunningServers } from "../../src/api/servers.ts";
import { Kronos } from "../../src/kronos.ts";
import { silentLogger } from "../../src/log.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { serveOnFreePorts } from "./helpers.ts";

let t: TestDatabase;
let kronos: Kronos;
let servers: RunningServers;

beforeAll(async () => {
  t = await createPostgresDatabase();
  kronos = await Kronos.open({ db: t.db, log: silentLogger });
  servers = await serveOnFreePorts(kronos, silentLogger);
});

afterAll(async () => {
  await servers.close();
  await kronos.stop(0);
  await t.close();
});

const PATH = "/kronos.v1.KronosService/ListDeadJobs";
const BODY = new TextEncoder().encode('{"pageSize":"\\ud800"}');

function framed(message: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** One gRPC call over h2c with a JSON body; resolves with grpc-status and grpc-message. */
async function grpcCall(path: string, json: Uint8Array): Promise<{ status?: string; message?: string }> {
  const session = http2.connect(`http://127.0.0.1:${servers.grpcPort}`);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer within 5 s")), 5_000);
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc+json",
        te: "trailers",
      });
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on("response", (h) => {
        headers = h;
      });
      stream.on("trailers", (h) => {
        trailers = h;
      });
      stream.on("data", () => {});
      stream.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      stream.on("close", () => {
        clearTimeout(timer);
        const status = (trailers["grpc-status"] ?? headers["grpc-status"]) as string | undefined;
        const message = (trailers["grpc-message"] ?? headers["grpc-message"]) as string | undefined;
        resolve({ status, message: message === undefined ? undefined : decodeURIComponent(message) });
      });
      stream.end(framed(json));
    });
  } finally {
    session.close();
  }
}

test("gRPC (h2c) answers InvalidArgument instead of never answering", async () => {
  expect((await grpcCall(PATH, BODY)).status).toBe("3");
});

test.each([
  ["/kronos.v1.KronosService/GetRun", "runId", "3"],
  ["/grpc.health.v1.Health/Check", "service", "5"],
])("%s with a 100 KB %s gets its status, with the message cut short", async (path, field, code) => {
  const { status, message } = await grpcCall(path, new TextEncoder().encode(`{"${field}":"${"x".repeat(100_000)}"}`));
  expect(status).toBe(code);
  expect(message?.length).toBeLessThan(2_000);
  expect(message).toContain(field === "runId" ? "runId" : "unknown service");
});

test("gRPC-web (admin port) answers InvalidArgument with a grpc-status", async () => {
  const res = await fetch(`http://127.0.0.1:${servers.adminPort}${PATH}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+json" },
    body: framed(BODY),
    signal: AbortSignal.timeout(5_000),
  });
  const body = new Uint8Array(await res.arrayBuffer());
  const trailer = new TextDecoder().decode(body).match(/grpc-status:\s*(\d+)/)?.[1];
  expect({ http: res.status, grpcStatus: res.headers.get("grpc-status") ?? trailer }).toEqual({
    http: 200,
    grpcStatus: "3",
  });
});
