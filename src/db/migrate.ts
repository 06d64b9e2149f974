import { migrations as allMigrations, type Migration } from "./migrations.ts";
import { sql, staticSql } from "./sql.ts";
import type { Database } from "./types.ts";

/** Key of the transaction-level advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 727_001;

export interface MigrateResult {
  applied: string[];
  current: number;
}

/**
 * Applies every migration not yet recorded, in order, in one transaction that holds an advisory
 * lock: two processes starting together apply each migration once, and a failure applies none.
 * Refuses a database that a newer build migrated further than this one knows.
 */
export async function migrate(db: Database, migrations: readonly Migration[] = allMigrations): Promise<MigrateResult> {
  return db.transaction(async (tx) => {
    await tx.query(sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.query(sql`CREATE TABLE IF NOT EXISTS kronos_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const rows = await tx.query<{ version: number }>(sql`SELECT version FROM kronos_migrations`);
    const done = new Set(rows.map((r) => r.version));
    const known = Math.max(0, ...migrations.map((m) => m.version));
    const newest = Math.max(0, ...done);
    if (newest > known) {
      // A newer Kronos migrated this database: older code writes columns it may have dropped.
      throw new Error(
        `the database schema is at version ${newest} but this Kronos knows versions up to ${known}: a newer Kronos migrated it; run that version or later`,
      );
    }
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      // A Queryable runs one statement per call; migration files hold several.
      for (const statement of splitStatements(m.sql)) await tx.query(staticSql(statement));
      await tx.query(sql`INSERT INTO kronos_migrations (version, name) VALUES (${m.version}, ${m.name})`);
      applied.push(m.name);
    }
    return { applied, current: known };
  });
}

/**
 * Splits a migration script into statements at semicolons that end a line, keeping
 * dollar-quoted function bodies whole.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = "";
  let inDollar = false;
  for (const line of script.split("\n")) {
    const trimmed = line.trim();
    if (!inDollar && (trimmed.startsWith("--") || trimmed === "")) continue;
    current += `${line}\n`;
    const dollars = line.match(/\$\$/g)?.length ?? 0;
    if (dollars % 2 === 1) inDollar = !inDollar;
    if (!inDollar && trimmed.endsWith(";")) {
      statements.push(current.trim());
      current = "";
    }
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
