// Replay against a real server: export round-trips through a file, and --submit creates the fork.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "bun";
import { createKronosClient, StepStatus, toValue } from "../../src/client/index.ts";
import { type NodeProcess, spawnNode } from "../support/node-process.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait.ts";

const root = resolve(import.meta.dir, "../..");
const examples = join(root, "examples");

function kronos(args: string[]) {
  const r = spawnSync([process.execPath, join(root, "src/main.ts"), ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: "" },
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("replay with a server", () => {
  let t: TestDatabase;
  let node: NodeProcess;
  let server: string;
  beforeAll(async () => {
    t = await createPostgresDatabase();
    node = await spawnNode({ databaseUrl: t.url, workflows: [examples] });
    server = `http://127.0.0.1:${node.adminPort}`;
  });
  afterAll(async () => {
    node.kill("SIGTERM");
    await node.exited;
    await t.close();
  });

  async function finishedRun(input: Record<string, unknown>): Promise<string> {
    const client = createKronosClient(server);
    const { run } = await client.startWorkflow({ workflowName: "data-pipeline", input: toValue(input as never) });
    const id = run?.id as string;
    await waitFor("the run to finish", async () => {
      const got = await client.getRun({ runId: id });
      return got.run?.finishedAt !== undefined;
    });
    return id;
  }

  test("kronos export writes a file that kronos replay --file replays offline, matching the server", async () => {
    const id = await finishedRun({ userId: "export-me" });
    const exported = kronos(["export", id, "--server", server]);
    expect(exported.code).toBe(0);
    const file = join(mkdtempSync(join(tmpdir(), "kronos-export-")), "run.json");
    writeFileSync(file, exported.out);
    const offline = kronos(["replay", "--file", file, "--workflows", examples, "--json"]);
    const online = kronos(["replay", id, "--server", server, "--workflows", examples, "--json"]);
    expect([offline.code, online.code]).toEqual([0, 0]);
    const strip = (out: string) =>
      (JSON.parse(out) as { steps: { step: string; verdict: string; output: unknown }[] }).steps.map((s) => [
        s.step,
        s.verdict,
        s.output,
      ]);
    expect(strip(offline.out)).toEqual(strip(online.out));
  });

  test("--fork-from with --submit creates the fork on the server as a real run", async () => {
    const id = await finishedRun({ userId: "fork-me" });
    const r = kronos([
      "replay",
      id,
      "--server",
      server,
      "--workflows",
      examples,
      "--fork-from",
      "validate",
      "--submit",
    ]);
    expect(r.code).toBe(0);
    const forkId = /submitted fork ([0-9a-f-]{36}) from step "validate"/.exec(r.out)?.[1];
    expect(forkId).toBeDefined();
    const client = createKronosClient(server);
    const fork = await waitFor("the fork to finish", async () => {
      const got = await client.getRun({ runId: forkId as string });
      return got.run?.finishedAt ? got : undefined;
    });
    expect({ parent: fork.run?.parentRunId, from: fork.run?.forkedFromStep }).toEqual({ parent: id, from: "validate" });
    const reused = fork.steps.filter((s) => s.name === "fetch-user" || s.name === "enrich").map((s) => s.status);
    expect(reused).toEqual([StepStatus.REUSED, StepStatus.REUSED]); // upstream steps were not run again
  });
});
