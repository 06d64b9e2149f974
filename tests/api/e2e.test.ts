// End to end: a real `kronos serve --workflows examples` process, once on PostgreSQL (DATABASE_URL)
// and once on embedded PGlite (--data-dir), called by the clients users run: curl, buf curl over
// gRPC (h2c), gRPC-web and Connect, the exported TypeScript client, and gRPC health probes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createConnectTransport } from "@connectrpc/connect-web";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { EventType, RunStatus } from "../../src/gen/kronos/v1/kronos_pb.ts";
import { createKronosClient, fromValue, toValue } from "../../src/index.ts";
import { type NodeProcess, spawnNode } from "../support/node-process.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait.ts";
import { bufCurl, EXAMPLES, parseMessages, run } from "./helpers.ts";

const SERVICE = "kronos.v1.KronosService";
const FINAL_OUTPUT = { valid: true, notified: ["email", "slack"] };

for (const backend of ["postgres", "pglite"] as const) {
  describe(`kronos serve on ${backend}`, () => {
    let database: TestDatabase | undefined;
    let node: NodeProcess;
    let admin: string;
    let grpc: string;

    beforeAll(async () => {
      database = backend === "postgres" ? await createPostgresDatabase() : undefined;
      node = await spawnNode({ databaseUrl: database?.url, workflows: [EXAMPLES] });
      admin = `http://127.0.0.1:${node.adminPort}`;
      grpc = `http://127.0.0.1:${node.grpcPort}`;
    });

    afterAll(async () => {
      node.kill("SIGTERM");
      expect(await node.exited).toBe(0);
      await database?.close();
    });

    const client = () => createKronosClient(admin);
    const finished = (runId: string) =>
      waitFor(`run ${runId} to finish`, async () => {
        const { run } = await client().getRun({ runId });
        return run && run.status !== RunStatus.RUNNING ? run : undefined;
      });

    test("README quick start: curl with a JSON body starts a run, and the run completes", async () => {
      const body = JSON.stringify({ workflowName: "data-pipeline", input: { userId: "u1" } });
      const result = await run([
        "curl",
        "-sS",
        "-H",
        "content-type: application/json",
        "-d",
        body,
        `${admin}/${SERVICE}/StartWorkflow`,
      ]);
      expect(result.code).toBe(0);
      const { run: started } = JSON.parse(result.stdout);
      expect(started).toMatchObject({ workflowName: "data-pipeline", input: { userId: "u1" } });
      const done = await finished(started.id);
      expect({ status: done.status, output: fromValue(done.output) }).toEqual({
        status: RunStatus.COMPLETED,
        output: FINAL_OUTPUT,
      });
    });

    test("Connect with JSON also works on the gRPC port, over HTTP/2 (curl --http2-prior-knowledge)", async () => {
      const result = await run([
        "curl",
        "-sS",
        "--http2-prior-knowledge",
        "-H",
        "content-type: application/json",
        "-d",
        "{}",
        `${grpc}/${SERVICE}/ListWorkflows`,
      ]);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).workflows[0]).toMatchObject({ name: "data-pipeline", latest: true });
    });

    for (const protocol of ["grpc", "grpcweb", "connect"] as const) {
      test(`buf curl over ${protocol}: StartWorkflow, StreamRunEvents to the end, GetRun`, async () => {
        const url = protocol === "grpc" ? grpc : admin;
        const started = await bufCurl(
          protocol,
          `${url}/${SERVICE}/StartWorkflow`,
          "-d",
          JSON.stringify({ workflowName: "data-pipeline", input: { userId: protocol } }),
        );
        expect(started).toMatchObject({ code: 0, stderr: "" });
        const runId = JSON.parse(started.stdout).run.id as string;

        const streamed = await bufCurl(protocol, `${url}/${SERVICE}/StreamRunEvents`, "-d", JSON.stringify({ runId }));
        expect(streamed).toMatchObject({ code: 0, stderr: "" });
        const events = parseMessages(streamed.stdout).map((m) => m.event as { seq: number; type: string });
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        expect(events[0]?.type).toBe("EVENT_TYPE_RUN_STARTED");
        expect(events.at(-1)?.type).toBe("EVENT_TYPE_RUN_COMPLETED");

        const got = await bufCurl(protocol, `${url}/${SERVICE}/GetRun`, "-d", JSON.stringify({ runId }));
        expect(got).toMatchObject({ code: 0, stderr: "" });
        const { run: view, steps } = JSON.parse(got.stdout);
        expect(view).toMatchObject({ id: runId, status: "RUN_STATUS_COMPLETED", output: FINAL_OUTPUT });
        expect(steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual(
          ["fetch-user", "enrich", "validate", "notify-1", "notify-2", "finish"].map((n) => [
            n,
            "STEP_STATUS_COMPLETED",
          ]),
        );
      });
    }

    test("buf curl --reflect --list-services on the gRPC port lists kronos.v1.KronosService", async () => {
      const result = await bufCurl("grpc", grpc, "--reflect", "--list-services");
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdout.trim().split("\n").sort()).toEqual([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        SERVICE,
      ]);
    });

    test("the exported client over Connect and gRPC-web: start, stream live, list, fork", async () => {
      for (const protocol of ["connect", "grpc-web"] as const) {
        const kronos = createKronosClient(admin, { protocol });
        const { run: started } = await kronos.startWorkflow({
          workflowName: "data-pipeline",
          input: toValue({ userId: `client-${protocol}` }),
        });
        const types: EventType[] = [];
        for await (const { event } of kronos.streamRunEvents({ runId: started?.id ?? "" })) {
          if (event) types.push(event.type);
        }
        expect(types.at(-1)).toBe(EventType.RUN_COMPLETED);
        const fork = await kronos.forkRun({ runId: started?.id ?? "", fromStep: "validate" });
        expect(fork.run).toMatchObject({ parentRunId: started?.id, forkedFromStep: "validate" });
        const forked = await finished(fork.run?.id ?? "");
        expect(fromValue(forked.output)).toEqual(FINAL_OUTPUT);
        const { runs } = await kronos.listRuns({ parentRunId: started?.id ?? "" });
        expect(runs.map((r) => r.id)).toEqual([fork.run?.id ?? ""]);
      }
      const { workflows } = await client().listWorkflows({});
      expect(workflows.map((w) => [w.name, w.version, w.latest, w.steps.length])).toEqual([
        ["data-pipeline", "v1", true, 6],
      ]);
      const cluster = await client().getClusterInfo({});
      expect(cluster.nodes.length).toBeGreaterThanOrEqual(1);
      expect(cluster.leaderId).not.toBe("");
    });

    test("health: Check on both ports and /healthz, Watch over gRPC and Connect", async () => {
      for (const [protocol, url] of [
        ["grpc", grpc],
        ["connect", admin],
      ] as const) {
        const check = await bufCurl(protocol, `${url}/grpc.health.v1.Health/Check`, "-d", `{"service":"${SERVICE}"}`);
        expect(JSON.parse(check.stdout)).toEqual({ status: "SERVING" });
      }
      expect(await (await fetch(`${admin}/healthz`)).json()).toEqual({ status: "ok" });

      for (const transport of [createGrpcTransport({ baseUrl: grpc }), createConnectTransport({ baseUrl: admin })]) {
        const hangUp = new AbortController();
        const watch = createClient(Health, transport).watch({ service: "" }, { signal: hangUp.signal });
        const first = await watch[Symbol.asyncIterator]().next();
        expect(first.value).toMatchObject({ status: Serving.SERVING });
        hangUp.abort();
      }
    });

    test("auth is off without KRONOS_API_TOKEN, and start-up says so", async () => {
      await expect(client().listWorkflows({})).resolves.toBeDefined();
      expect(node.logs.some((l) => l.level === "warn" && String(l.msg).includes("KRONOS_API_TOKEN is not set"))).toBe(
        true,
      );
      const error = await client()
        .getRun({ runId: "00000000-0000-4000-8000-000000000000" })
        .catch((e: unknown) => ConnectError.from(e));
      expect(error).toMatchObject({ code: Code.NotFound });
    });
  });
}
