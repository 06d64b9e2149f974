import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { migrate } from "../db/migrate.ts";
import { openPglite } from "../db/pglite.ts";

/**
 * Build time: an initialised PGlite data directory with every migration applied, as a gzipped
 * tarball (about 4.5 MB; 40 MB unpacked, most of it zeros in the first WAL segment). The binary
 * embeds it and seeds empty data directories with it (src/embedded/seed.ts).
 */
export async function makeDataDirTarball(): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "kronos-pgdata-"));
  try {
    const db = await openPglite({ dataDir: dir });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    // Reopened bare only to use PGlite's own dump, which keeps the file modes (0600/0750).
    const pg = await PGlite.create({ dataDir: dir });
    try {
      return new Uint8Array(await (await pg.dumpDataDir("gzip")).arrayBuffer());
    } finally {
      await pg.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
