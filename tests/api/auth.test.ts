// KRONOS_API_TOKEN set on a real process: every RPC needs `Authorization: Bearer <token>` on both
// ports and every protocol; health checks and /healthz stay open for probes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createKronosClient } from "../../src/index.ts";
import { type NodeProcess, spawnNode } from "../support/node-process.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { bufCurl, EXAMPLES, PROTO, postJson, TOKEN } from "./helpers.ts";

const SERVICE = "kronos.v1.KronosService";
const BEARER = `Authorization: Bearer ${TOKEN}`;

describe("with KRONOS_API_TOKEN set", () => {
  let database: TestDatabase;
  let node: NodeProcess;
  let admin: string;
  let grpc: string;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    node = await spawnNode({ databaseUrl: database.url, workflows: [EXAMPLES], env: { KRONOS_API_TOKEN: TOKEN } });
    admin = `http://127.0.0.1:${node.adminPort}`;
    grpc = `http://127.0.0.1:${node.grpcPort}`;
  });

  afterAll(async () => {
    node.kill("SIGTERM");
    await node.exited;
    await database.close();
  });

  test("curl without the token gets 401 unauthenticated; with it, the call works", async () => {
    const body = JSON.stringify({ workflowName: "data-pipeline", input: { userId: "u1" } });
    const url = `${admin}/${SERVICE}/StartWorkflow`;
    const refused = await postJson(url, body);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ code: "unauthenticated" });
    expect(String(refused.json.message)).toContain("Authorization: Bearer");
    const wrong = await postJson(url, body, { authorization: "Bearer not-the-token-at-all" });
    expect(wrong).toMatchObject({ status: 401, json: { code: "unauthenticated" } });
    const allowed = await postJson(url, body, { authorization: `Bearer ${TOKEN}` });
    expect(allowed.status).toBe(200);
    expect(allowed.json.run).toMatchObject({ workflowName: "data-pipeline" });
  });

  for (const protocol of ["grpc", "grpcweb", "connect"] as const) {
    test(`buf curl over ${protocol}: unauthenticated without the token, answered with it`, async () => {
      const url = `${protocol === "grpc" ? grpc : admin}/${SERVICE}/ListWorkflows`;
      const refused = await bufCurl(protocol, url, "-d", "{}", "--schema", PROTO);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("unauthenticated");
      // Over gRPC, buf curl learns the schema by reflection, which needs the token as well.
      const reflect = protocol === "grpc" ? ["--reflect-header", "*"] : [];
      const allowed = await bufCurl(protocol, url, "-d", "{}", "-H", BEARER, ...reflect);
      expect(allowed).toMatchObject({ code: 0, stderr: "" });
      expect(JSON.parse(allowed.stdout).workflows[0]).toMatchObject({ name: "data-pipeline" });
    });
  }

  test("reflection needs the token too", async () => {
    // buf curl reports an Unauthenticated reflection answer as "you are not authenticated".
    const refused = await bufCurl("grpc", grpc, "--list-services");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("not authenticated");
    const listed = await bufCurl("grpc", grpc, "--list-services", "--reflect-header", BEARER);
    expect(listed.stdout).toContain(SERVICE);
  });

  test("the exported client sends the token it is given", async () => {
    for (const protocol of ["connect", "grpc-web"] as const) {
      const anonymous = await createKronosClient(admin, { protocol })
        .listWorkflows({})
        .catch((e: unknown) => ConnectError.from(e));
      expect(anonymous).toMatchObject({ code: Code.Unauthenticated });
      const { workflows } = await createKronosClient(admin, { protocol, token: TOKEN }).listWorkflows({});
      expect(workflows.map((w) => w.name)).toEqual(["data-pipeline"]);
    }
  });

  test("health checks and /healthz need no token", async () => {
    for (const [protocol, url] of [
      ["grpc", grpc],
      ["connect", admin],
    ] as const) {
      // With the schema from proto/, as a health probe needs no reflection.
      const check = await bufCurl(protocol, `${url}/grpc.health.v1.Health/Check`, "-d", "{}", "--schema", PROTO);
      expect(check).toMatchObject({ code: 0 });
      expect(JSON.parse(check.stdout)).toEqual({ status: "SERVING" });
    }
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    expect(node.logs.some((l) => String(l.msg).includes("KRONOS_API_TOKEN is not set"))).toBe(false);
  });
});
