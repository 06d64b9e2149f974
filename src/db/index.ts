export { isConnectionError, isTransactionConflict, SqlState, sqlState } from "./errors.ts";
export { type MigrateResult, migrate } from "./migrate.ts";
export { type OpenOptions, openDatabase } from "./open.ts";
export { openPglite } from "./pglite.ts";
export { openPostgres } from "./postgres.ts";
export { joinSql, json, type SqlQuery, sql, staticSql } from "./sql.ts";
export type { Backend, Database, Queryable, ReservedConnection, Row } from "./types.ts";
