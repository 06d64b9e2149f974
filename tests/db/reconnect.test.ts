// A pool on a PostgreSQL server that restarts: once the server is back, queries must succeed
// within about a second, however many connection attempts failed while it was down.
// (Found by chaos scenario 2: postgres.js's default backoff counts every failed attempt of the
// whole pool and waits 3^n/100 s, up to 20 s, before a closed connection may connect again, so a
// node under load stayed unable to reach a restarted server for 5–20 s.)

import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Database, openPostgres, sql } from "../../src/db/index.ts";
import { type LocalPostgres, startLocalPostgres } from "../../src/db/local-server.ts";
import { waitFor } from "../support/wait.ts";

let server: LocalPostgres;
let db: Database;

beforeAll(async () => {
  server = await startLocalPostgres();
  db = openPostgres({ url: server.url, max: 4 });
});

afterAll(async () => {
  await db.close();
  server.destroy();
});

test("after a server restart the pool answers again within a second or two", async () => {
  await Promise.all(Array.from({ length: 4 }, () => db.query(sql`SELECT 1`)));
  server.stop("fast");
  // Callers keep asking while it is down (as workers, heartbeats and the API do): every attempt fails.
  let failures = 0;
  // Keep four callers failing until the pool has piled up retries (as ~2 s of outage would).
  await waitFor(
    "40 failed attempts while the server is down",
    async () => {
      await Promise.all(
        Array.from({ length: 4 }, () =>
          db.query(sql`SELECT 1`).catch(() => {
            failures++;
          }),
        ),
      );
      return failures >= 40;
    },
    { timeoutMs: 30_000, everyMs: 20 },
  );
  expect(failures).toBeGreaterThan(8);
  server.start();
  // Each caller retries a failed query (as the loops do) until one succeeds.
  const t0 = performance.now();
  const answered = () => waitFor("a query to succeed again", () => db.query(sql`SELECT 1 AS one`), { everyMs: 50 });
  await Promise.all(Array.from({ length: 8 }, answered));
  // Without a capped backoff postgres.js waited 5–20 s here; a generous bound keeps loaded CI honest.
  expect(performance.now() - t0).toBeLessThan(8_000);
});
