import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isInitialised, seedDataDir } from "../../src/embedded/seed.ts";

/** A stand-in for the build's data-directory tarball: the marker plus one data file. */
async function tarball(): Promise<Blob> {
  return new Bun.Archive({ PG_VERSION: "17\n", "base/1/1259": "catalog" }, { compress: "gzip" }).blob();
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kronos-seed-"));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("seedDataDir", () => {
  test("creates a missing data directory from the tarball", async () => {
    const dataDir = join(tempDir(), ".kronos/data");
    expect(await seedDataDir(dataDir, await tarball())).toBe(true);
    expect(readFileSync(join(dataDir, "base/1/1259"), "utf8")).toBe("catalog");
    expect(isInitialised(dataDir)).toBe(true);
  });

  test("fills an existing empty folder in place (a volume's mount point)", async () => {
    const dataDir = tempDir();
    expect(await seedDataDir(dataDir, await tarball())).toBe(true);
    expect(isInitialised(dataDir)).toBe(true);
  });

  test("seeds again over a half-written folder that has no marker yet", async () => {
    const dataDir = tempDir();
    mkdirSync(join(dataDir, "base/1"), { recursive: true });
    writeFileSync(join(dataDir, "base/1/1259"), "torn");
    expect(await seedDataDir(dataDir, await tarball())).toBe(true);
    expect(readFileSync(join(dataDir, "base/1/1259"), "utf8")).toBe("catalog");
  });

  test("leaves an initialised database alone", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "PG_VERSION"), "17\n");
    expect(await seedDataDir(dataDir, await tarball())).toBe(false);
    expect(existsSync(join(dataDir, "base"))).toBe(false);
  });

  test("refuses a tarball without the marker", async () => {
    const bad = await new Bun.Archive({ "base/1/1259": "catalog" }, { compress: "gzip" }).blob();
    await expect(seedDataDir(tempDir(), bad)).rejects.toThrow("has no PG_VERSION");
  });
});
