import type { PGliteOptions } from "@electric-sql/pglite";
import { openPglite } from "./pglite.ts";
import { openPostgres } from "./postgres.ts";
import type { Database } from "./types.ts";

export interface OpenOptions {
  /** A PostgreSQL URL; without it the embedded database is used. */
  databaseUrl?: string;
  /** Where the embedded database keeps its files. */
  dataDir: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
  /** Extra PGlite options (the compiled binary's embedded assets). */
  pglite?: Partial<PGliteOptions>;
}

/** Opens PostgreSQL when a URL is given, else the embedded PGlite under `dataDir`. */
export function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) {
    return Promise.resolve(openPostgres({ url: options.databaseUrl, max: options.poolSize }));
  }
  return openPglite({ dataDir: options.dataDir, engine: options.pglite });
}
