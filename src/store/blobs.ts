import { type Queryable, sql } from "../db/index.ts";

/** A JSON value and its content address. */
export interface Blob {
  hash: string;
  /** The value as JSON text (what was hashed). */
  json: string;
}

/** JSON text with object keys sorted, so equal values hash the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value, (_key, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/** Content-addresses a value (sha256 of its canonical JSON). */
export function toBlob(value: unknown): Blob {
  const json = canonicalJson(value);
  return { hash: new Bun.CryptoHasher("sha256").update(json).digest("hex"), json };
}

/** Stores values once: a hash already present is left as it is. */
export async function put(db: Queryable, blobs: readonly Blob[]): Promise<void> {
  if (blobs.length === 0) return;
  const unique = [...new Map(blobs.map((b) => [b.hash, b])).values()];
  await db.query(sql`
    INSERT INTO kronos_blobs (hash, data, size)
    SELECT h, d::jsonb, octet_length(d) FROM unnest(${unique.map((b) => b.hash)}::text[], ${unique.map((b) => b.json)}::text[]) AS u(h, d)
    ON CONFLICT (hash) DO NOTHING`);
}

/** Values by hash. */
export async function get(db: Queryable, hashes: readonly string[]): Promise<Map<string, unknown>> {
  if (hashes.length === 0) return new Map();
  const rows = await db.query<{ hash: string; data: unknown }>(sql`
    SELECT hash, data FROM kronos_blobs WHERE hash = ANY(${[...new Set(hashes)]}::text[])`);
  return new Map(rows.map((r) => [r.hash, r.data]));
}

/**
 * Deletes blobs created before `before` that no run or step refers to any more, at most `limit`.
 * An anti-join over the steps table (no index on output_hash: it would cost every step completion
 * its HOT update), so retention runs it rarely.
 */
export async function deleteUnreferenced(db: Queryable, p: { before: Date; limit: number }): Promise<number> {
  const rows = await db.query(sql`
    DELETE FROM kronos_blobs WHERE hash IN (
      SELECT b.hash FROM kronos_blobs b
      WHERE b.created_at < ${p.before} AND NOT EXISTS (SELECT 1 FROM kronos_steps s WHERE s.output_hash = b.hash)
        AND NOT EXISTS (SELECT 1 FROM kronos_runs r WHERE r.input_hash = b.hash OR r.output_hash = b.hash)
      LIMIT ${p.limit})
    RETURNING hash`);
  return rows.length;
}
