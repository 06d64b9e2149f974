import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/** The file whose presence makes PGlite (like PostgreSQL) treat a folder as an initialised database. */
const MARKER = "PG_VERSION";

/** Whether `dataDir` already holds a database. */
export function isInitialised(dataDir: string): boolean {
  return existsSync(join(dataDir, MARKER));
}

/**
 * Fills a data directory that holds no database yet from a tarball of an initialised, migrated one,
 * so a first start skips initdb. Extracts in place (the folder may be a mount point, like /data in
 * the Docker image) and writes the marker last: a start killed half-way leaves a folder that is
 * seeded again on the next start, never one PGlite would take for a database. Returns whether it
 * seeded.
 */
export async function seedDataDir(dataDir: string, tarball: Blob): Promise<boolean> {
  if (isInitialised(dataDir)) return false;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Bun.Archive needs the bytes in memory: a lazy Bun.file() Blob fails to extract (ReadError).
  const archive = new Bun.Archive(await tarball.bytes());
  await archive.extract(dataDir, { glob: ["**", `!${MARKER}`] });
  if ((await archive.extract(dataDir, { glob: MARKER })) !== 1) {
    throw new Error(`the embedded data-directory tarball has no ${MARKER}: rebuild the binary (npm run build)`);
  }
  return true;
}
