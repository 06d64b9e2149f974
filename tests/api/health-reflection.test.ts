// Health and reflection over a real h2c server, driven by the real `buf curl` (the client users
// run) and by a Connect gRPC client for the Watch stream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { type HealthSource, HealthState, registerHealth, type ServingStatus } from "../../src/api/health.ts";
import { DescriptorIndex, registerReflection } from "../../src/api/reflection.ts";
import { Health, HealthCheckResponse_ServingStatus as WireStatus } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { KronosService } from "../../src/gen/kronos/v1/kronos_pb.ts";
import { waitFor } from "../support/wait.ts";

const BUF = join(import.meta.dir, "../../node_modules/.bin/buf");

/** Counts live Watch subscriptions, so the test can see a hang-up release its listener. */
class CountingSource implements HealthSource {
  subscribers = 0;
  constructor(readonly inner: HealthState) {}
  status(): ServingStatus {
    return this.inner.status();
  }
  onChange(listener: (status: ServingStatus) => void): () => void {
    this.subscribers++;
    const unsubscribe = this.inner.onChange(listener);
    return () => {
      this.subscribers--;
      unsubscribe();
    };
  }
}

const health = new HealthState("SERVING");
const source = new CountingSource(health);
const sessions = new Set<http2.ServerHttp2Session>();
let server: http2.Http2Server;
let baseUrl: string;

beforeAll(async () => {
  const routes = (router: ConnectRouter) => {
    registerHealth(router, source);
    // KronosService has no handlers here: listing and describing it needs only its descriptor.
    registerReflection(router, [Health, KronosService]);
  };
  server = http2.createServer(connectNodeAdapter({ routes }));
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const session of sessions) session.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** Runs `buf curl` over gRPC with h2c. Async, never spawnSync: the server lives in this process. */
async function bufCurl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([BUF, "curl", "--http2-prior-knowledge", "--protocol", "grpc", "--timeout", "20s", ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

describe("reflection", () => {
  for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
    test(`buf curl --list-services over ${protocol}`, async () => {
      const result = await bufCurl("--reflect-protocol", protocol, "--list-services", baseUrl);
      expect(result).toMatchObject({ code: 0 });
      expect(result.stdout.trim().split("\n").sort()).toEqual([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "kronos.v1.KronosService",
      ]);
    });
  }

  test("buf curl --list-methods resolves kronos.proto with its google/protobuf imports", async () => {
    const result = await bufCurl("--list-methods", baseUrl);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("kronos.v1.KronosService/StartWorkflow");
    expect(result.stdout).toContain("kronos.v1.KronosService/StreamRunEvents");
  });

  test("answers unknown names with NOT_FOUND and files with their dependencies", () => {
    const index = new DescriptorIndex([KronosService]);
    expect(index.answer({ case: "fileContainingSymbol", value: "kronos.v1.Nope" })).toEqual({
      case: "errorResponse",
      value: { errorCode: Code.NotFound, errorMessage: 'no symbol "kronos.v1.Nope"' },
    });
    expect(
      index.answer({ case: "fileContainingExtension", value: { containingType: "kronos.v1.Run", extensionNumber: 9 } }),
    ).toMatchObject({
      case: "errorResponse",
      value: { errorCode: Code.NotFound },
    });
    const answer = index.answer({ case: "fileContainingSymbol", value: "kronos.v1.KronosService.ForkRun" });
    expect(answer.case).toBe("fileDescriptorResponse");
    expect(answer.case === "fileDescriptorResponse" && answer.value.fileDescriptorProto.length).toBe(3);
  });
});

describe("health", () => {
  test("Check follows the status, for the server and for kronos.v1.KronosService", async () => {
    const check = (service: string) =>
      bufCurl("-d", JSON.stringify({ service }), `${baseUrl}/grpc.health.v1.Health/Check`);
    expect(JSON.parse((await check("")).stdout)).toEqual({ status: "SERVING" });
    health.set("NOT_SERVING");
    try {
      expect(JSON.parse((await check("")).stdout)).toEqual({ status: "NOT_SERVING" });
      expect(JSON.parse((await check("kronos.v1.KronosService")).stdout)).toEqual({ status: "NOT_SERVING" });
    } finally {
      health.set("SERVING");
    }
  });

  test("Check on an unknown service is NOT_FOUND", async () => {
    const result = await bufCurl("-d", '{"service":"nope.v1.Nope"}', `${baseUrl}/grpc.health.v1.Health/Check`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("not_found");
  });

  test("Watch sends the current status, then each change, and lets go when the client hangs up", async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl }));
    const hangUp = new AbortController();
    const stream = client.watch({ service: "" }, { signal: hangUp.signal })[Symbol.asyncIterator]();

    expect((await stream.next()).value).toMatchObject({ status: WireStatus.SERVING });
    health.set("NOT_SERVING");
    expect((await stream.next()).value).toMatchObject({ status: WireStatus.NOT_SERVING });
    health.set("SERVING");
    expect((await stream.next()).value).toMatchObject({ status: WireStatus.SERVING });

    hangUp.abort();
    const ended = await stream.next().catch((error: unknown) => ConnectError.from(error).code);
    expect(ended).toBe(Code.Canceled);
    await waitFor("the server to drop the Watch listener", () => source.subscribers === 0);
  });

  test("Watch on an unknown service sends SERVICE_UNKNOWN and stays open", async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl }));
    const hangUp = new AbortController();
    const stream = client.watch({ service: "nope.v1.Nope" }, { signal: hangUp.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value).toMatchObject({ status: WireStatus.SERVICE_UNKNOWN });
    hangUp.abort();
    await stream.next().catch(() => undefined);
  });
});
