export { isConnectionError, SqlState, sqlState } from "./errors.ts";
export { migrate, type MigrateResult } from "./migrate.ts";
export { openDatabase, type OpenOptions } from "./open.ts";
export { openPglite } from "./pglite.ts";
export { openPostgres } from "./postgres.ts";
export { joinSql, json, sql, staticSql, type SqlQuery } from "./sql.ts";
export type { Backend, Database, Queryable, ReservedConnection, Row } from "./types.ts";
