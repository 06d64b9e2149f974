import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawn, spawnSync } from "bun";
import { freePort } from "../../src/db/local-server.ts";
import { diffSize, formatDiff, jsonDiff } from "../../src/replay/json-diff.ts";
import { waitFor } from "../support/wait.ts";

const root = resolve(import.meta.dir, "../..");
const fixture = (name: string) => join(root, "tests/fixtures", name);
const completed = fixture("runs/data-pipeline-completed.json");
const failed = fixture("runs/data-pipeline-failed-validate.json");

function kronos(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync([process.execPath, join(root, "src/main.ts"), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("json diff", () => {
  test("reports changed, added and removed paths", () => {
    const changes = jsonDiff(
      { a: 1, b: [1, 2], c: { "odd key": true }, gone: 1 },
      { a: 2, b: [1], c: { "odd key": true, n: null } },
    );
    expect(formatDiff(changes)).toEqual(["~ $.a: 1 -> 2", "- $.b[1]: 2", "+ $.c.n: null", "- $.gone: 1"]);
    expect(formatDiff(jsonDiff({ "odd key": 1 }, {}))).toEqual(['- $["odd key"]: 1']);
    expect(diffSize([])).toBe(0);
    expect(diffSize(changes)).toBeGreaterThan(0);
  });
});

describe("kronos replay on recorded histories", () => {
  test("identical code replays every step with zero diffs and exits 0", () => {
    const r = kronos(["replay", "--file", completed, "--workflows", join(root, "examples")]);
    expect(r.code).toBe(0);
    const lines = r.out.split("\n").filter((l) => l.includes(" step "));
    expect(lines).toHaveLength(6);
    expect(lines.every((l) => / OK +\(\d+\.\dms, diff: 0 bytes\)$/.test(l))).toBe(true);
    expect(r.out).toContain(
      "[replay] run 5934989e-c631-4236-984c-3c5ef62e3cc5 (workflow: data-pipeline v1, completed)",
    );
    expect(r.out).toContain("[replay] all steps match production");
  });

  test("changed step code exits 1 with the expected diff lines, and --json says the same", () => {
    const r = kronos(["replay", "--file", completed, "--workflows", fixture("pipeline-changed.ts"), "--diff"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('warning: the local code of "data-pipeline" differs from the recorded version v1');
    expect(r.out).toMatch(/step 2\/6: enrich +DIFF +\(\d+\.\dms, diff: 60 bytes\)\n +~ \$\.score: 62 -> 63\n/);
    const j = kronos(["replay", "--file", completed, "--workflows", fixture("pipeline-changed.ts"), "--json"]);
    const result = JSON.parse(j.out) as { ok: boolean; steps: { step: string; verdict: string; diff: unknown[] }[] };
    expect(result.ok).toBe(false);
    expect(result.steps.map((s) => [s.step, s.verdict])).toEqual([
      ["fetch-user", "OK"],
      ["enrich", "DIFF"],
      ["validate", "OK"],
      ["notify-1", "OK"],
      ["notify-2", "OK"],
      ["finish", "OK"],
    ]);
    expect(result.steps[1]?.diff).toEqual([{ path: "$.score", kind: "changed", before: 62, after: 63 }]);
  });

  test("--fork-from never calls upstream steps and shows the changed downstream outputs", () => {
    const file = join(mkdtempSync(join(tmpdir(), "kronos-replay-")), "calls");
    writeFileSync(file, "");
    const r = kronos(
      ["replay", "--file", failed, "--workflows", fixture("pipeline-counting.ts"), "--fork-from", "validate", "--diff"],
      {
        INVOCATIONS_FILE: file,
      },
    );
    expect(readFileSync(file, "utf8").split("\n").filter(Boolean)).toEqual(["validate", "finish"]);
    expect(r.out).toMatch(/step 1\/6: fetch-user REUSED/);
    expect(r.out).toMatch(/step 2\/6: enrich +REUSED/);
    expect(r.out).toMatch(/step 3\/6: validate +DIFF .*production failed here: validate failed on purpose/);
    expect(r.out).toMatch(/step 6\/6: finish +OK/);
    expect(r.code).toBe(1); // production failed at validate, the local code does not: that is a divergence
  });

  test("a local definition with other steps is refused, naming them", () => {
    const dir = mkdtempSync(join(tmpdir(), "kronos-replay-"));
    writeFileSync(
      join(dir, "other.ts"),
      `import { workflow } from "kronos";
export const p = workflow("data-pipeline", "v1").step("fetch-user", (x) => x).step("brand-new", (x) => x, { after: ["fetch-user"] });`,
    );
    const r = kronos(["replay", "--file", completed, "--workflows", join(dir, "other.ts")]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      "refused: the local definition lacks recorded step(s): enrich, validate, notify-1, notify-2, finish",
    );
    expect(r.out).toContain("refused: the local definition has step(s) the run did not: brand-new");
  });

  test("bad usage exits 2 with a message", () => {
    expect(kronos(["replay", "--file", completed]).code).toBe(2);
    const r = kronos(["replay", "--file", completed, "--workflows", join(root, "examples"), "--break-at", "nope"]);
    expect(r.code).not.toBe(0);
    expect(kronos(["replay", "--bogus"]).err).toContain("Unknown option '--bogus'");
  });

  test("--break-at opens the inspector and pauses before the step runs, with its recorded input", async () => {
    const port = await freePort();
    const calls = join(mkdtempSync(join(tmpdir(), "kronos-replay-")), "calls");
    writeFileSync(calls, "");
    const proc = spawn(
      [
        process.execPath,
        join(root, "src/main.ts"),
        "replay",
        "--file",
        completed,
        "--workflows",
        fixture("pipeline-counting.ts"),
        "--break-at",
        "enrich",
        "--inspect-port",
        String(port),
      ],
      { cwd: root, stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, INVOCATIONS_FILE: calls } },
    );
    let out = "";
    void (async () => {
      for await (const chunk of proc.stdout) out += new TextDecoder().decode(chunk);
    })();
    await waitFor("the break announcement", () => out.includes("press Enter to run the step"));
    expect(out).toContain(`inspector ws://127.0.0.1:${port}/kronos-replay`);
    expect(readFileSync(calls, "utf8")).toBe("fetch-user\n"); // enrich has not run yet
    const ws = new WebSocket(`ws://127.0.0.1:${port}/kronos-replay`);
    const replies = new Map<number, () => void>();
    let onPaused: (p: { callFrames: { functionName: string }[] }) => void = () => {};
    const paused = new Promise<{ callFrames: { functionName: string }[] }>((r) => {
      onPaused = r;
    });
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as { id?: number; method?: string; params?: unknown };
      if (msg.id !== undefined) replies.get(msg.id)?.();
      if (msg.method === "Debugger.paused") onPaused(msg.params as { callFrames: { functionName: string }[] });
    };
    await new Promise((r) => {
      ws.onopen = r;
    });
    let id = 0;
    // Each command is acknowledged before the next step, so the debugger is armed before Enter.
    const call = (method: string, params: object = {}) =>
      new Promise<void>((r) => {
        replies.set(++id, r);
        ws.send(JSON.stringify({ id, method, params }));
      });
    await call("Inspector.enable");
    await call("Runtime.enable");
    await call("Debugger.enable");
    await call("Debugger.setBreakpointsActive", { active: true });
    await call("Debugger.setPauseOnDebuggerStatements", { enabled: true });
    proc.stdin.write("\n");
    proc.stdin.flush();
    const where = await paused;
    expect(where.callFrames.slice(0, 2).map((f) => f.functionName)).toEqual(["pauseForDebugger", "replay"]);
    expect(readFileSync(calls, "utf8")).toBe("fetch-user\n"); // paused before the step function
    await call("Debugger.resume");
    ws.close(); // an attached debugger keeps the process alive
    expect(await proc.exited).toBe(1); // the counting pipeline's outputs differ from production's
    expect(readFileSync(calls, "utf8").split("\n").filter(Boolean)).toEqual([
      "fetch-user",
      "enrich",
      "validate",
      "notify-1",
      "notify-2",
      "finish",
    ]);
  });
});
