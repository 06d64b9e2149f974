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

/**
 * Supplies PGlite options for a data directory (undefined: in memory) before it opens. The compiled
 * binary installs one (src/embedded/main.ts) that hands over its embedded wasm, file bundle and a
 * ready-made data directory; from source there is none and PGlite uses node_modules.
 */
export type EngineProvider = (dataDir: string | undefined) => Promise<Partial<PGliteOptions>>;

let engineProvider: EngineProvider | undefined;

/** Shared buffers of the embedded database (see openPglite). */
export const EMBEDDED_SHARED_BUFFERS = "32MB";

/** Installs (or, with undefined, removes) the provider every later `openPglite` consults. */
export function provideEngine(provider: EngineProvider | undefined): void {
  engineProvider = provider;
}

function wrap(pg: PGlite | Transaction): Queryable {
  return {
    query: async <T = Row>(q: SqlQuery) => (await pg.query<T>(q.text, q.values as unknown[])).rows,
  };
}

/** Opens the embedded PostgreSQL (WASM). One process owns the data directory. */
export async function openPglite(options: PgliteOptions = {}): Promise<Database> {
  const provided = engineProvider ? await engineProvider(options.dataDir) : {};
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const pg = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    parsers: { [INT8]: (x: string) => Number(x) },
    // PostgreSQL's default 128 MB of shared buffers lives in the WASM heap for the life of the
    // process: with 32 MB an idle embedded node uses about 100 MB less, and the dag6 benchmark on
    // PGlite did not change measurably (2,100–2,900 steps/s either way).
    startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`],
    ...provided,
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
