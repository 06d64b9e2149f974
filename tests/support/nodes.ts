import { afterAll, beforeAll, beforeEach } from "bun:test";
import type { Database } from "../../src/db/index.ts";
import { Kronos } from "../../src/kronos.ts";
import { silentLogger } from "../../src/log.ts";
import type { Clock } from "../../src/queue/clock.ts";
import type { WorkerConfig } from "../../src/queue/worker.ts";
import { type backends, type TestDatabase, truncateAll } from "./postgres.ts";

/**
 * For a describe block: one database for the file, cleared before each test, and Kronos nodes
 * opened on it by `open` (worker settings over `defaults`; on `clock` when given), all stopped
 * before the next test.
 */
export function testNodes(backend: (typeof backends)[number], defaults: Partial<WorkerConfig>, clock?: Clock) {
  let t: TestDatabase | undefined;
  const nodes: Kronos[] = [];
  const stopAll = () => Promise.all(nodes.splice(0).map((k) => k.stop(0)));
  beforeAll(async () => {
    t = await backend.create();
  });
  beforeEach(async () => {
    await stopAll();
    await truncateAll((t as TestDatabase).db);
  });
  afterAll(async () => {
    await stopAll();
    await t?.close();
  });
  return {
    get db(): Database {
      return (t as TestDatabase).db;
    },
    async open(worker: Partial<WorkerConfig> = {}): Promise<Kronos> {
      const k = await Kronos.open({
        db: (t as TestDatabase).db,
        log: silentLogger,
        worker: { ...defaults, ...worker },
        leaderCheckMs: 100,
        clock,
      });
      nodes.push(k);
      return k;
    },
  };
}
