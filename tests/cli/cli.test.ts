import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "bun";
import { migrations } from "../../src/db/migrations.ts";

const main = resolve(import.meta.dir, "../../src/main.ts");
function kronos(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync([process.execPath, main, ...args], { env: { ...process.env, ...env } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("the kronos command line", () => {
  test("every command has --help", () => {
    const top = kronos(["--help"]);
    expect(top.code).toBe(0);
    const commands = [...top.out.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1] as string);
    expect(commands.sort()).toEqual(["bench", "export", "migrate", "replay", "serve", "version"]);
    for (const c of commands) {
      const r = kronos([c, "--help"]);
      expect({ c, code: r.code }).toEqual({ c, code: 0 });
      expect(r.out).toContain(`kronos ${c}:`);
    }
  });

  test("an unknown command or option is a usage error (exit 2)", () => {
    expect(kronos(["frobnicate"])).toMatchObject({ code: 2 });
    const r = kronos(["migrate", "--frob"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("Unknown option '--frob'");
  });

  test("a bad setting stops start-up with a message naming it", () => {
    const env = kronos(["serve"], { WORKER_CONCURRENCY: "lots" });
    expect(env.code).toBe(2);
    expect(env.err).toContain("WORKER_CONCURRENCY");
    const flag = kronos(["serve", "--poll-interval", "2 seconds"]);
    expect(flag.code).toBe(2);
    expect(flag.err).toContain("--poll-interval (SCHEDULER_POLL_INTERVAL)");
  });

  test("migrate applies the migrations once and says what it did", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "kronos-cli-")), "data");
    const first = kronos(["migrate", "--data-dir", dir]);
    expect(first.code).toBe(0);
    const names = migrations.map((m) => m.name).join(", ");
    const latest = migrations.length;
    expect(first.out).toBe(`embedded database in ${dir}: applied ${names}; now at migration ${latest}\n`);
    const again = kronos(["migrate", "--data-dir", dir]);
    expect(again.out).toBe(`embedded database in ${dir}: up to date at migration ${latest}\n`);
  });

  test("version prints version, commit and Bun version", () => {
    expect(kronos(["version"]).out).toMatch(/^kronos \d+\.\d+\.\d+ \(commit \S+, bun \d+\.\d+\.\d+\)\n$/);
  });
});
