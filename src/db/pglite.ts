import { mkdirSync } from "node:fs";
import { PGlite, type PGliteOptions, type Transaction } from "@electric-sql/pglite";
import type { SqlQuery } from "./sql.ts";
import type { Database, Queryable, Row } from "./types.ts";

export interface PgliteOptions {
  /** Directory of the data; omitted means in memory. */
  dataDir?: string;
  /** Extra options (the compiled binary passes its embedded wasm and data bundle here). */
  engine?: Partial<PGliteOptions>;
}

const INT8 = 20;

function wrap(pg: PGlite | Transaction): Queryable {
  return {
    query: async <T = Row>(q: SqlQuery) => (await pg.query<T>(q.text, q.values as unknown[])).rows,
  };
}

/** Opens the embedded PostgreSQL (WASM). One process owns the data directory. */
export async function openPglite(options: PgliteOptions = {}): Promise<Database> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const pg = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    parsers: { [INT8]: (x: string) => Number(x) },
    ...options.engine,
  });
  const base = wrap(pg);
  return {
    backend: "pglite",
    query: base.query,
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => pg.transaction((tx) => fn(wrap(tx))),
    exec: async (script) => {
      await pg.exec(script);
    },
    listen: async (channel, onMessage) => {
      const stop = await pg.listen(channel, onMessage);
      return async () => {
        await stop();
      };
    },
    // PGlite has a single session, so a reserved connection is the database itself.
    reserve: async () => ({ ...base, release: async () => {} }),
    close: () => pg.close(),
  };
}
