// Every kind of bad input against one real process: the right Connect code, a message that names
// the field (or the thing) to fix, the same answer over gRPC, nothing written to the database, and
// the process serving normally afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fromJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type Database, sql } from "../../src/db/index.ts";
import { KronosService } from "../../src/gen/kronos/v1/kronos_pb.ts";
import { createKronosClient } from "../../src/index.ts";
import { type NodeProcess, spawnNode } from "../support/node-process.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait.ts";
import { EXAMPLES, postJson } from "./helpers.ts";

const SERVICE = "kronos.v1.KronosService";
const UNKNOWN_RUN = "00000000-0000-4000-8000-000000000000";
const LIMIT = 64 * 1024;
const OTHER_LIST_TOKEN = Buffer.from('{"list":"jobs","id":5}').toString("base64url");

interface Case {
  name: string;
  method: string;
  body: string;
  code: string;
  /** Text the message must contain: the field's name, or the thing refused. */
  mentions: string;
  /** False when a typed client (buf curl) cannot even encode the body. */
  encodable?: boolean;
}

async function countRows(db: Database): Promise<Record<string, number>> {
  const [row] = await db.query<Record<string, number>>(sql`
    SELECT (SELECT count(*)::int FROM kronos_runs) AS runs, (SELECT count(*)::int FROM kronos_steps) AS steps,
           (SELECT count(*)::int FROM kronos_jobs) AS jobs, (SELECT count(*)::int FROM kronos_events) AS events,
           (SELECT count(*)::int FROM kronos_blobs) AS blobs,
           (SELECT count(*)::int FROM kronos_jobs WHERE state = 'pending') AS pending`);
  return row as Record<string, number>;
}

describe("bad input", () => {
  let database: TestDatabase;
  let node: NodeProcess;
  let admin: string;
  let grpc: string;
  let finishedRun: string;
  let pendingJob: string;
  let cancelledJob: string;
  let stepJob: string;

  const call = (method: string, body: unknown) => postJson(`${admin}/${SERVICE}/${method}`, JSON.stringify(body));

  beforeAll(async () => {
    database = await createPostgresDatabase();
    node = await spawnNode({
      databaseUrl: database.url,
      workflows: [EXAMPLES],
      args: ["--max-request-bytes", `${LIMIT}`],
    });
    admin = `http://127.0.0.1:${node.adminPort}`;
    grpc = `http://127.0.0.1:${node.grpcPort}`;
    const started = await call("StartWorkflow", { workflowName: "data-pipeline", input: { userId: "u1" } });
    finishedRun = (started.json.run as { id: string }).id;
    await waitFor("the run to complete", async () => {
      const { json } = await call("GetRun", { runId: finishedRun });
      return (json.run as { status: string }).status === "RUN_STATUS_COMPLETED";
    });
    // A completed step's job row is gone (its run's log is the record); a failed step's stays,
    // dead. Make one like it, as a run that exhausted its retries would leave.
    const [dead] = await database.db.query<{ id: number }>(sql`
      INSERT INTO kronos_jobs (type, payload, state, attempt, finished_at, last_error, definition_id)
      SELECT 'kronos.workflow_step', jsonb_build_object('runId', ${finishedRun}::text, 'step', 'enrich'), 'dead', 3, now(),
             'enrich failed on purpose', id
      FROM kronos_definitions WHERE name = 'data-pipeline' RETURNING id`);
    stepJob = String(dead?.id);
    // Jobs of a type no node handles stay pending; cancelling one makes a finished job.
    pendingJob = ((await call("SubmitJob", { type: "nobody-handles-this" })).json.job as { id: string }).id;
    cancelledJob = ((await call("SubmitJob", { type: "nobody-handles-this" })).json.job as { id: string }).id;
    expect((await call("CancelJob", { id: cancelledJob })).status).toBe(200);
  });

  afterAll(async () => {
    node.kill("SIGTERM");
    await node.exited;
    await database.close();
  });

  /** One case; `body` is JSON text (1e999 must stay text: JSON.stringify makes it null), or a value to encode. */
  const bad = (
    name: string,
    method: string,
    body: unknown,
    code: string,
    mentions: string,
    encodable = true,
  ): Case => ({
    name,
    method,
    body: typeof body === "string" ? body : JSON.stringify(body),
    code,
    mentions,
    encodable,
  });
  const start = (extra: object) => ({ workflowName: "data-pipeline", ...extra });

  const cases = (): Case[] => [
    bad("missing workflow name", "StartWorkflow", {}, "invalid_argument", "workflowName"),
    bad("unknown workflow name", "StartWorkflow", { workflowName: "nope" }, "not_found", "workflowName"),
    bad("unknown workflow version", "StartWorkflow", start({ version: "v9" }), "not_found", "version"),
    bad(
      "malformed JSON body",
      "StartWorkflow",
      '{"workflowName": "data-pipeline", "input": {',
      "invalid_argument",
      "JSON",
      false,
    ),
    bad(
      "wrong JSON type for a field",
      "StartWorkflow",
      '{"workflowName": 5}',
      "invalid_argument",
      "workflow_name",
      false,
    ),
    bad(
      "input JSON cannot hold",
      "StartWorkflow",
      '{"workflowName": "data-pipeline", "input": {"n": 1e999}}',
      "invalid_argument",
      "input",
      false,
    ),
    bad(
      "idempotency key too long",
      "StartWorkflow",
      start({ idempotencyKey: "k".repeat(501) }),
      "invalid_argument",
      "idempotencyKey",
    ),
    bad(
      "oversize input",
      "StartWorkflow",
      start({ input: { blob: "x".repeat(LIMIT) } }),
      "resource_exhausted",
      "larger than",
    ),
    bad("priority above 10", "SubmitJob", { type: "email", priority: 11 }, "invalid_argument", "priority"),
    bad("priority below 1", "SubmitJob", { type: "email", priority: -1 }, "invalid_argument", "priority"),
    bad("missing job type", "SubmitJob", { payload: { a: 1 } }, "invalid_argument", "type"),
    bad("reserved job type", "SubmitJob", { type: "kronos.workflow_step" }, "invalid_argument", "type"),
    bad("max retries out of range", "SubmitJob", { type: "email", maxRetries: 5000 }, "invalid_argument", "maxRetries"),
    bad(
      "payload JSON cannot hold",
      "SubmitJob",
      '{"type": "email", "payload": -1e999}',
      "invalid_argument",
      "payload",
      false,
    ),
    bad(
      "oversize payload",
      "SubmitJob",
      { type: "email", payload: "x".repeat(LIMIT) },
      "resource_exhausted",
      "larger than",
    ),
    bad("malformed run id", "GetRun", { runId: "abc" }, "invalid_argument", "runId"),
    bad("missing run id", "GetRun", {}, "invalid_argument", "runId"),
    bad("unknown run id", "GetRun", { runId: UNKNOWN_RUN }, "not_found", "runId"),
    bad("negative afterSeq", "GetRunEvents", { runId: finishedRun, afterSeq: -1 }, "invalid_argument", "afterSeq"),
    bad("unknown job id", "GetJob", { id: "987654321" }, "not_found", "id"),
    bad("job id zero", "GetJob", { id: "0" }, "invalid_argument", "id"),
    bad("garbage page token", "ListRuns", { pageToken: "not-a-token!" }, "invalid_argument", "pageToken"),
    bad("another list's page token", "ListDeadJobs", { pageToken: OTHER_LIST_TOKEN }, "invalid_argument", "pageToken"),
    bad("negative page size", "ListJobs", { pageSize: -1 }, "invalid_argument", "pageSize"),
    bad("malformed parentRunId filter", "ListRuns", { parentRunId: "x" }, "invalid_argument", "parentRunId"),
    bad(
      "fork from a step the workflow lacks",
      "ForkRun",
      { runId: finishedRun, fromStep: "nope" },
      "invalid_argument",
      "fromStep",
    ),
    bad("fork without a step", "ForkRun", { runId: finishedRun }, "invalid_argument", "fromStep"),
    bad("fork of an unknown run", "ForkRun", { runId: UNKNOWN_RUN, fromStep: "enrich" }, "not_found", "runId"),
    bad("cancel of a finished run", "CancelRun", { runId: finishedRun }, "failed_precondition", finishedRun),
    bad("cancel of an unknown run", "CancelRun", { runId: UNKNOWN_RUN }, "not_found", "runId"),
    bad("retry of a job that is not dead", "RetryJob", { id: pendingJob }, "failed_precondition", `job ${pendingJob}`),
    bad("retry of an unknown job", "RetryJob", { id: "987654321" }, "not_found", "id"),
    bad("cancel of a finished job", "CancelJob", { id: cancelledJob }, "failed_precondition", `job ${cancelledJob}`),
    bad("cancel of a workflow step's job", "CancelJob", { id: stepJob }, "failed_precondition", "CancelRun"),
  ];

  test("each refusal has the right code and names the field, over Connect (curl) and gRPC; nothing is written", async () => {
    const before = await countRows(database.db);
    const table = cases();
    const seen: Record<string, unknown>[] = [];
    for (const c of table) {
      const { status, json } = await postJson(`${admin}/${SERVICE}/${c.method}`, c.body);
      const mentions = String(json.message).includes(c.mentions) || json.message;
      seen.push({ name: c.name, code: json.code, mentions, refused: status >= 400 });
    }
    expect(seen).toEqual(table.map((c) => ({ name: c.name, code: c.code, mentions: true, refused: true })));

    // The same refusals over gRPC (h2c) from a gRPC client, for every body a typed client can encode.
    const grpcClient = createClient(KronosService, createGrpcTransport({ baseUrl: grpc }));
    const encodable = table.filter((c) => c.encodable);
    const overGrpc = [];
    for (const c of encodable) {
      const method = KronosService.methods.find((m) => m.name === c.method);
      if (!method) throw new Error(`no method ${c.method}`);
      const invoke = grpcClient[method.localName as keyof typeof grpcClient] as (req: unknown) => Promise<unknown>;
      const error = await invoke(fromJsonString(method.input, c.body)).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      overGrpc.push({
        name: c.name,
        code: error && codeToString(error.code),
        mentions: !!error?.message.includes(c.mentions),
      });
    }
    expect(overGrpc).toEqual(encodable.map((c) => ({ name: c.name, code: c.code, mentions: true })));
    expect(await countRows(database.db)).toEqual(before);
  });

  test("StreamRunEvents refuses a malformed, unknown or past-the-end request", async () => {
    const client = createKronosClient(admin);
    const first = async (runId: string, afterSeq = 0) => {
      try {
        for await (const _ of client.streamRunEvents({ runId, afterSeq })) return "sent an event";
        return "ended";
      } catch (error) {
        const e = ConnectError.from(error);
        return { code: Code[e.code], message: e.rawMessage };
      }
    };
    expect(await first("abc")).toMatchObject({ code: "InvalidArgument", message: expect.stringContaining("runId") });
    expect(await first(UNKNOWN_RUN)).toMatchObject({ code: "NotFound", message: expect.stringContaining("runId") });
    expect(await first(finishedRun, 10_000)).toMatchObject({
      code: "InvalidArgument",
      message: expect.stringContaining("afterSeq"),
    });
  });

  test("afterwards the same process still serves: a run starts and completes", async () => {
    expect(node.proc.exitCode).toBeNull();
    expect(await (await fetch(`${admin}/healthz`)).json()).toEqual({ status: "ok" });
    const started = await call("StartWorkflow", { workflowName: "data-pipeline", input: { userId: "after" } });
    const runId = (started.json.run as { id: string }).id;
    await waitFor("the run after the refusals to complete", async () => {
      const { json } = await call("GetRun", { runId });
      return (json.run as { status: string }).status === "RUN_STATUS_COMPLETED";
    });
    expect(node.logs.filter((l) => l.level === "error")).toEqual([]);
  });
});
