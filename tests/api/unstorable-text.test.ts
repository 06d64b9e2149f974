// Text PostgreSQL cannot store is bad input: InvalidArgument naming the field, nothing written,
// nothing logged as an internal error. (Found by chaos scenario 5: a JSON value with an unpaired
// UTF-16 surrogate or "\u0000" reached jsonb, and a NUL character in a text field like a job type
// reached a text column; both came back from PostgreSQL as errors and were answered Internal.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { RunningServers } from "../../src/api/servers.ts";
import { Kronos, workflow } from "../../src/index.ts";
import { createLogger } from "../../src/log.ts";
import { countRows } from "../support/chaos.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { postJson, serveOnFreePorts } from "./helpers.ts";

let t: TestDatabase;
let kronos: Kronos;
let servers: RunningServers;
let admin: string;
const errors: string[] = [];

beforeAll(async () => {
  t = await createPostgresDatabase();
  const log = createLogger({
    write: (line) => {
      if (JSON.parse(line).level === "error") errors.push(line);
    },
  });
  kronos = await Kronos.open({ db: t.db, log });
  await kronos.register(workflow<unknown>("echo", "v1").step("echo", (x) => x));
  await kronos.start();
  servers = await serveOnFreePorts(kronos, log);
  admin = `http://127.0.0.1:${servers.adminPort}/kronos.v1.KronosService`;
});

afterAll(async () => {
  await servers.close();
  await kronos.stop(0);
  await t.close();
});

test.each([
  ["StartWorkflow", '{"workflowName":"echo","input":"\\ud800"}', "input"],
  ["StartWorkflow", '{"workflowName":"echo","input":{"a":["ok","\\udfff x"]}}', "input"],
  ["StartWorkflow", '{"workflowName":"echo","input":{"\\ud83d":1}}', "input"],
  ["StartWorkflow", '{"workflowName":"echo","input":"nul \\u0000 inside"}', "input"],
  ["SubmitJob", '{"type":"x","payload":{"p":"\\ud800"}}', "payload"],
  ["SubmitJob", '{"type":"a\\u0000b"}', "type"],
  ["SubmitJob", '{"type":"x","idempotencyKey":"k\\u0000"}', "idempotencyKey"],
  ["StartWorkflow", '{"workflowName":"echo","idempotencyKey":"\\u0000"}', "idempotencyKey"],
  ["ListJobs", '{"type":"\\u0000"}', "type"],
  ["ListRuns", '{"workflowName":"echo\\u0000"}', "workflowName"],
])("%s %s is InvalidArgument naming %s, and writes nothing", async (method, body, field) => {
  const before = await countRows(t.db);
  const res = await postJson(`${admin}/${method}`, body);
  expect({ status: res.status, code: res.json.code }).toEqual({ status: 400, code: "invalid_argument" });
  expect(String(res.json.message)).toContain(field);
  expect(await countRows(t.db)).toEqual(before);
  expect(errors).toEqual([]);
});

test("a well-formed astral character (a surrogate pair) is stored and read back", async () => {
  const res = await postJson(`${admin}/StartWorkflow`, '{"workflowName":"echo","input":"smile \\ud83d\\ude00"}');
  expect(res.status).toBe(200);
  const run = await kronos.waitForRun((res.json.run as { id: string }).id);
  expect(run.output).toBe("smile 😀");
});
