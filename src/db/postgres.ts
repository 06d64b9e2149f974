import postgres from "postgres";
import type { SqlQuery } from "./sql.ts";
import type { Database, Queryable, ReservedConnection, Row } from "./types.ts";

type Sql = postgres.Sql<Record<string, never>>;

export interface PostgresOptions {
  url: string;
  /** Pool size; defaults to 10. */
  max?: number;
}

// int8 as a JS number: our ids stay far below 2^53, and both backends then agree on the type.
const int8AsNumber = {
  to: 20,
  from: [20],
  serialize: (x: number | bigint) => String(x),
  parse: (x: string) => Number(x),
};

function wrap(sql: Sql | postgres.TransactionSql<Record<string, never>>): Queryable {
  return {
    query: <T = Row>(q: SqlQuery) =>
      sql.unsafe(q.text, q.values as postgres.ParameterOrJSON<never>[], { prepare: true }) as unknown as Promise<T[]>,
  };
}

/** Opens a pool on a PostgreSQL server. */
export function openPostgres(options: PostgresOptions): Database {
  const sql: Sql = postgres(options.url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // postgres.js counts failed connection attempts across the whole pool and by default waits
    // 3^n/100 s (up to 20 s) before a closed connection may connect again: after a 3 s restart of
    // the server under load, nodes stayed cut off for 5–20 s (chaos scenario 2). Cap it at 1 s;
    // a down server then sees at most one attempt per connection a second.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1),
    // A connection attempt caught by a server restart can hang until this runs out (default 30 s):
    // under load a node then stayed NOT_SERVING for half a minute after the server was back.
    connect_timeout: 5,
    types: { int8: int8AsNumber } as never,
    // Kronos's tables are hot: the queue and the projections live in shared buffers. At the
    // default random_page_cost of 4 the planner priced a batch of 300 step updates by key as a
    // hash join over a sequential scan of every step row (11.7 ms at 28,000 rows, against about
    // 1.5 ms through the primary key), and kept doing so until tables were far larger. 1.1 is
    // the usual setting for data in memory or on SSD; it applies to Kronos's own sessions only.
    connection: { application_name: "kronos", random_page_cost: "1.1" },
  }) as unknown as Sql;
  const base = wrap(sql);
  return {
    backend: "postgres",
    query: base.query,
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => sql.begin((tx) => fn(wrap(tx))) as Promise<T>,
    exec: async (script) => {
      await sql.unsafe(script);
    },
    listen: async (channel, onMessage) => {
      const sub = await sql.listen(channel, onMessage);
      return () => sub.unlisten();
    },
    reserve: async (): Promise<ReservedConnection> => {
      const conn = await sql.reserve();
      return { ...wrap(conn as unknown as Sql), release: async () => conn.release() };
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
