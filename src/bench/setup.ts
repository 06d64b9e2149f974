import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, migrate, openPglite, openPostgres, staticSql } from "../db/index.ts";
import { type LocalPostgres, startLocalPostgres } from "../db/local-server.ts";

export type BenchBackend = "postgres" | "pglite";

/** Where benchmark databases come from: DATABASE_URL's server, or a throwaway local one. */
export class BenchDatabases {
  #local: LocalPostgres | undefined;
  #adminUrl: string | undefined;
  readonly cleanups: (() => Promise<void> | void)[] = [];

  constructor(private readonly databaseUrl: string | undefined) {}

  /** "local PostgreSQL 15 (throwaway, fsync on)" or the URL's host, for the report. */
  describe(): string {
    if (this.databaseUrl) return `PostgreSQL at ${new URL(this.databaseUrl).host} (DATABASE_URL)`;
    return "throwaway local PostgreSQL (initdb by the benchmark, default durability: fsync and synchronous_commit on)";
  }

  async #admin(): Promise<string> {
    if (this.#adminUrl) return this.#adminUrl;
    if (this.databaseUrl) {
      this.#adminUrl = this.databaseUrl;
    } else {
      process.stderr.write("starting a throwaway PostgreSQL for the benchmark…\n");
      this.#local = await startLocalPostgres({ durable: true });
      this.#adminUrl = this.#local.url;
    }
    return this.#adminUrl;
  }

  /** A fresh, migrated database for one case; `url` set for PostgreSQL. */
  async fresh(backend: BenchBackend, poolSize: number): Promise<{ db: Database; url?: string; drop(): Promise<void> }> {
    if (backend === "pglite") {
      const dir = mkdtempSync(join(tmpdir(), "kronos-bench-"));
      const db = await openPglite({ dataDir: dir });
      await migrate(db);
      return {
        db,
        drop: async () => {
          await db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    const adminUrl = await this.#admin();
    const name = `kronos_bench_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = openPostgres({ url: adminUrl, max: 1 });
    await admin.query(staticSql(`CREATE DATABASE ${name}`));
    await admin.close();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const db = openPostgres({ url: url.toString(), max: poolSize });
    await migrate(db);
    return {
      db,
      url: url.toString(),
      drop: async () => {
        await db.close();
        const a = openPostgres({ url: adminUrl, max: 1 });
        await a.query(staticSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
        await a.close();
      },
    };
  }

  close(): void {
    this.#local?.destroy();
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
