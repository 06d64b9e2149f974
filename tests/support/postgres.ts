import { randomUUID } from "node:crypto";
import { type Database, migrate, openPglite, openPostgres, sql, staticSql } from "../../src/db/index.ts";
import { type LocalPostgres, startLocalPostgres } from "../../src/db/local-server.ts";

/**
 * The test PostgreSQL: KRONOS_TEST_DATABASE_URL when set, else a throwaway server started on first
 * use and stopped when the test process exits. Every test file gets its own database, cloned from a
 * migrated template, so files never see each other's rows.
 */
let server: Promise<{ adminUrl: string; urlFor(db: string): string; local?: LocalPostgres }> | undefined;
let template: Promise<string> | undefined;

function getServer() {
  server ??= (async () => {
    const external = process.env.KRONOS_TEST_DATABASE_URL;
    if (external) {
      const base = new URL(external);
      return {
        adminUrl: external,
        urlFor: (db: string) => {
          const u = new URL(base);
          u.pathname = `/${db}`;
          return u.toString();
        },
      };
    }
    const local = await startLocalPostgres();
    return { adminUrl: local.url, urlFor: local.urlFor, local };
  })();
  return server;
}

async function getTemplate(): Promise<string> {
  template ??= (async () => {
    const s = await getServer();
    const name = `kronos_tpl_${randomUUID().slice(0, 8)}`;
    const admin = openPostgres({ url: s.adminUrl, max: 1 });
    await admin.query(staticSql(`CREATE DATABASE ${name}`));
    await admin.close();
    const db = openPostgres({ url: s.urlFor(name), max: 1 });
    await migrate(db);
    await db.close();
    return name;
  })();
  return template;
}

export interface TestDatabase {
  readonly db: Database;
  /** URL of this database, for child processes. */
  readonly url: string;
  /** The throwaway server, when the harness started one (chaos tests restart it). */
  readonly server?: LocalPostgres;
  close(): Promise<void>;
}

/** A fresh migrated PostgreSQL database for one test file. */
export async function createPostgresDatabase(poolSize = 10): Promise<TestDatabase> {
  const s = await getServer();
  const tpl = await getTemplate();
  const name = `kronos_t_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = openPostgres({ url: s.adminUrl, max: 1 });
  await admin.query(staticSql(`CREATE DATABASE ${name} TEMPLATE ${tpl}`));
  await admin.close();
  const url = s.urlFor(name);
  const db = openPostgres({ url, max: poolSize });
  return {
    db,
    url,
    server: s.local,
    close: async () => {
      await db.close();
      const drop = openPostgres({ url: s.adminUrl, max: 1 });
      await drop.query(staticSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      await drop.close();
    },
  };
}

/** A fresh migrated in-memory PGlite database. */
export async function createPgliteDatabase(): Promise<TestDatabase> {
  const db = await openPglite();
  await migrate(db);
  return { db, url: "", close: () => db.close() };
}

export const backends = [
  { name: "postgres", create: createPostgresDatabase },
  { name: "pglite", create: createPgliteDatabase },
] as const;

/** Clears every table between tests of one file. */
export async function truncateAll(db: Database): Promise<void> {
  await db.query(
    sql`TRUNCATE kronos_event_batches, kronos_steps, kronos_runs, kronos_jobs, kronos_blobs, kronos_definitions, kronos_cron, kronos_nodes RESTART IDENTITY CASCADE`,
  );
}

/** Stops the throwaway server, if this process started one (bun test runs no exit handlers). */
export async function stopTestServer(): Promise<void> {
  const s = await server;
  s?.local?.destroy();
  server = undefined;
  template = undefined;
}
