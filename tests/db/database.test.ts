import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Database, json, migrate, openPostgres, sql } from "../../src/db/index.ts";
import { migrations } from "../../src/db/migrations.ts";
import { EMBEDDED_SHARED_BUFFERS } from "../../src/db/pglite.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";

// One suite, both backends: whatever the store relies on must behave the same on each.
for (const backend of backends) {
  describe(`database on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    beforeAll(async () => {
      t = await backend.create();
      db = t.db;
      await db.query(sql`CREATE TABLE items (id bigint PRIMARY KEY, doc jsonb, at timestamptz)`);
    });
    afterAll(() => t.close());

    test("parameters, arrays, JSON and types round-trip", async () => {
      const at = new Date("2026-01-02T03:04:05.678Z");
      await db.query(
        sql`INSERT INTO items SELECT i, d::jsonb, ${at} FROM unnest(${[1, 2]}::bigint[], ${['{"a":[1,"x"]}', "null"]}::text[]) AS u(i, d)`,
      );
      const rows = await db.query(sql`SELECT id, doc, at FROM items WHERE id = ANY(${[1, 2]}::bigint[]) ORDER BY id`);
      expect(rows).toEqual([
        { id: 1, doc: { a: [1, "x"] }, at },
        { id: 2, doc: null, at },
      ]);
      const [one] = await db.query<{ doc: unknown }>(sql`SELECT ${json({ b: "<x>" })}::jsonb AS doc`);
      expect(one).toEqual({ doc: { b: "<x>" } });
    });

    test("a blob's hash must be 64 lower-case hex digits", async () => {
      const put = (hash: string) =>
        db.query(sql`INSERT INTO kronos_blobs (hash, data, size) VALUES (${hash}, 'null', 4) ON CONFLICT DO NOTHING`);
      await put("0123456789abcdef".repeat(4));
      for (const bad of ["0123456789ABCDEF".repeat(4), `${"a".repeat(63)}g`, "ab".repeat(31), `${"ab".repeat(31)}  `]) {
        await expect(put(bad)).rejects.toThrow(/kronos_blobs_hash_check|hexadecimal/);
      }
      const [row] = await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM kronos_blobs`);
      expect(row?.n).toBe(1);
    });

    test("array parameters keep every string exactly: quotes, backslashes, braces, NULL as text", async () => {
      const texts = [
        "plain",
        'with "quotes"',
        "back\\slash\\",
        "{braces},comma",
        "NULL",
        "",
        null,
        "ünïcødé ✓",
        "a\nb",
      ];
      // Read back as rows: postgres.js reads a NULL element of a returned text[] as the text "NULL".
      const rows = await db.query<{ v: string | null }>(
        sql`SELECT v FROM unnest(${texts}::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`,
      );
      expect(rows.map((r) => r.v)).toEqual(texts);
      const ints = await db.query<{ v: number }>(
        sql`SELECT v FROM unnest(${[1, -2, 3_000_000_000]}::int8[]) WITH ORDINALITY AS u(v, i) ORDER BY i`,
      );
      expect(ints.map((r) => r.v)).toEqual([1, -2, 3_000_000_000]);
    });

    test("fragments compose with renumbered parameters", async () => {
      const filter = sql`AND id > ${0}`;
      const rows = await db.query(sql`SELECT count(*)::int AS n FROM items WHERE id < ${10} ${filter}`);
      expect(rows).toEqual([{ n: 2 }]);
    });

    test("a transaction commits on return and rolls back on throw", async () => {
      await db.transaction(async (tx) => {
        await tx.query(sql`INSERT INTO items (id) VALUES (10)`);
      });
      await expect(
        db.transaction(async (tx) => {
          await tx.query(sql`INSERT INTO items (id) VALUES (11)`);
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      const rows = await db.query(sql`SELECT id FROM items WHERE id >= 10 ORDER BY id`);
      expect(rows).toEqual([{ id: 10 }]);
    });

    test("a transaction whose function swallows a statement's error rejects, and writes nothing", async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query(sql`INSERT INTO items (id) VALUES (20)`);
          await tx.query(sql`INSERT INTO items (id) VALUES (20)`).catch(() => {});
          return "done";
        }),
      ).rejects.toThrow();
      expect(await db.query(sql`SELECT id FROM items WHERE id = 20`)).toEqual([]);
    });

    test("statements issued at once at the start of a transaction all run inside it", async () => {
      const ids = await db.transaction((tx) =>
        Promise.all([
          tx.query<{ x: string }>(sql`SELECT txid_current()::text AS x`),
          tx.query<{ x: string }>(sql`SELECT txid_current()::text AS x`),
          tx.query(sql`INSERT INTO items (id) VALUES (21)`),
        ]),
      );
      expect(ids[0][0]?.x).toBe(ids[1][0]?.x as string);
      await expect(
        db.transaction(async (tx) => {
          await Promise.all([tx.query(sql`INSERT INTO items (id) VALUES (22)`), tx.query(sql`SELECT 1`)]);
          throw new Error("undo");
        }),
      ).rejects.toThrow("undo");
      expect(await db.query(sql`SELECT id FROM items WHERE id IN (21, 22) ORDER BY id`)).toEqual([{ id: 21 }]);
    });

    test("NOTIFY reaches a listener after commit", async () => {
      const got: string[] = [];
      let wake = () => {};
      const arrived = new Promise<void>((r) => {
        wake = r;
      });
      const stop = await db.listen("kronos_test", (payload) => {
        got.push(payload);
        wake();
      });
      await db.transaction(async (tx) => {
        await tx.query(sql`SELECT pg_notify('kronos_test', 'hello')`);
      });
      await arrived;
      await stop();
      expect(got).toEqual(["hello"]);
    });

    test("session advisory locks hold on a reserved connection", async () => {
      const conn = await db.reserve();
      const [got] = await conn.query<{ ok: boolean }>(sql`SELECT pg_try_advisory_lock(${42}) AS ok`);
      expect(got).toEqual({ ok: true });
      const [released] = await conn.query<{ ok: boolean }>(sql`SELECT pg_advisory_unlock(${42}) AS ok`);
      expect(released).toEqual({ ok: true });
      await conn.release();
    });

    test("a database migrated by a newer build is refused, naming both versions", async () => {
      await expect(migrate(db, migrations.slice(0, -1))).rejects.toThrow(
        `the database schema is at version ${migrations.length} but this Kronos knows versions up to ${migrations.length - 1}`,
      );
    });

    test("migrate is idempotent and says what it did", async () => {
      expect(await migrate(db)).toEqual({ applied: [], current: migrations.length });
    });
  });
}

describe("database on postgres only", () => {
  test("two pools migrating a fresh database at once apply each migration once", async () => {
    const t = await backends[0].create();
    // Start from an empty schema in a database of our own.
    await t.db.query(sql`DROP SCHEMA public CASCADE`);
    await t.db.query(sql`CREATE SCHEMA public`);
    const a = openPostgres({ url: t.url, max: 2 });
    const b = openPostgres({ url: t.url, max: 2 });
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    expect([...ra.applied, ...rb.applied].sort()).toEqual(migrations.map((m) => m.name));
    const rows = await a.query(sql`SELECT version FROM kronos_migrations ORDER BY version`);
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version })));
    await a.close();
    await b.close();
    await t.close();
  });

  test("another session cannot take an advisory lock that is held", async () => {
    const t = await backends[0].create();
    const one = await t.db.reserve();
    const two = await t.db.reserve();
    await one.query(sql`SELECT pg_advisory_lock(${7})`);
    expect(await two.query(sql`SELECT pg_try_advisory_lock(${7}) AS ok`)).toEqual([{ ok: false }]);
    await one.release();
    await two.release();
    await t.close();
  });
});

describe("database on pglite only", () => {
  test("the embedded database keeps its shared buffers small (they stay in the process's heap)", async () => {
    const t = await backends[1].create();
    const [row] = await t.db.query<{ shared_buffers: string }>(sql`SHOW shared_buffers`);
    expect(row?.shared_buffers).toBe(EMBEDDED_SHARED_BUFFERS);
    await t.close();
  });
});
