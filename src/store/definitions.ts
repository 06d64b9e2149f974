import { json, type Queryable, sql } from "../db/index.ts";
import type { DagShape } from "../workflow/fingerprint.ts";

export interface DefinitionRow {
  id: number;
  name: string;
  version: string;
  fingerprint: string;
  dag: DagShape;
  createdAt: Date;
}

const COLUMNS = sql`id, name, version, fingerprint, dag, created_at AS "createdAt"`;

/** Stores a loaded definition (once per name, version and fingerprint) and returns its row. */
export async function upsert(
  db: Queryable,
  d: { name: string; version: string; fingerprint: string; dag: DagShape },
): Promise<DefinitionRow> {
  const [row] = await db.query<DefinitionRow>(sql`
    WITH ins AS (
      INSERT INTO kronos_definitions (name, version, fingerprint, dag)
      VALUES (${d.name}, ${d.version}, ${d.fingerprint}, ${json(d.dag)}::jsonb)
      ON CONFLICT (name, version, fingerprint) DO NOTHING
      RETURNING ${COLUMNS})
    SELECT * FROM ins
    UNION ALL
    SELECT ${COLUMNS} FROM kronos_definitions WHERE name = ${d.name} AND version = ${d.version} AND fingerprint = ${d.fingerprint}
    LIMIT 1`);
  // A node that inserted the same row concurrently committed after our snapshot: read it again.
  return row ?? upsert(db, d);
}

/** Other fingerprints stored under the same name and version (code changed without a new version). */
export async function otherFingerprints(
  db: Queryable,
  d: { name: string; version: string; fingerprint: string },
): Promise<DefinitionRow[]> {
  return db.query<DefinitionRow>(sql`
    SELECT ${COLUMNS} FROM kronos_definitions
    WHERE name = ${d.name} AND version = ${d.version} AND fingerprint <> ${d.fingerprint}
    ORDER BY id`);
}

export async function get(db: Queryable, p: { id: number }): Promise<DefinitionRow | undefined> {
  const [row] = await db.query<DefinitionRow>(sql`SELECT ${COLUMNS} FROM kronos_definitions WHERE id = ${p.id}`);
  return row;
}
