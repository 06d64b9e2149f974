// Handoff: a completion hook creates follow-up jobs already claimed by its worker. With short jobs
// the worker takes more than it has free slots, by handoff or by claim (they wait and start as
// slots free, never more than `concurrency` at once); with long jobs only the free slots. Waiting
// jobs that are cancelled never start, and on shutdown they go back to the queue.

import { describe, expect, test } from "bun:test";
import { sql } from "../../src/db/index.ts";
import type { CompletedJob, Handoff, JobHandler } from "../../src/queue/types.ts";
import { HOLD_WAIT_MS } from "../../src/queue/worker.ts";
import type { ClaimedJob } from "../../src/store/jobs.ts";
import * as jobs from "../../src/store/jobs.ts";
import { testNodes } from "../support/nodes.ts";
import { backends } from "../support/postgres.ts";
import { deferred, steppingClock, waitFor } from "../support/wait.ts";

/**
 * A parent job whose completion hands off `children` child jobs; records what was granted. `run`
 * is its body (default: nothing, a short job).
 */
function parentHandler(children: number, granted: number[], run: () => unknown = () => {}): JobHandler {
  return {
    run,
    async onCompleted(tx, done: readonly CompletedJob[], handoff: Handoff) {
      for (const _ of done) {
        const mine = handoff.reserve(children);
        granted.push(mine);
        const ids = await jobs.submitMany(
          tx,
          Array.from({ length: children }, (_, i) => ({ type: "child", payload: { i } })),
          { worker: handoff.worker, leaseMs: handoff.leaseMs },
        );
        // Those past the grant stay claimed but are not started here: give them back as pending.
        await jobs.release(tx, { worker: handoff.worker, ids: ids.slice(mine) });
        handoff.claimed.push(
          ...ids.slice(0, mine).map(
            (id, i): ClaimedJob => ({
              id,
              type: "child",
              payload: { i },
              priority: 5,
              runAt: new Date(),
              attempt: 1,
              maxRetries: 3,
              timeoutMs: null,
              definitionId: null,
            }),
          ),
        );
      }
    },
  };
}

for (const backend of backends) {
  describe(`handoff on ${backend.name}`, () => {
    // Jobs are made long by moving the nodes' clock on while they run, not by sleeping.
    const clock = steppingClock();
    const nodes = testNodes(backend, { batchSize: 1, pollIntervalMs: 50, leaseMs: 5_000 }, clock);
    const node = (concurrency: number, o: { leaseMs?: number; batchSize?: number } = {}) =>
      nodes.open({ concurrency, ...o });
    const states = () =>
      nodes.db.query<{ state: string; n: number }>(
        sql`SELECT state, count(*)::int AS n FROM kronos_jobs WHERE type = 'child' GROUP BY state ORDER BY state`,
      );

    test("short jobs: more are handed off than slots are free, and at most `concurrency` run at once", async () => {
      const k = await node(2);
      const granted: number[] = [];
      let running = 0;
      let most = 0;
      let ran = 0;
      k.registry.register("parent", parentHandler(8, granted));
      k.registry.register("child", async () => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setImmediate(resolve)); // let the others start meanwhile
        running--;
        ran++;
      });
      let warm = false;
      k.registry.register("warm", () => {
        warm = true;
      });
      await k.start();
      // A first instant job tells the worker its jobs are short.
      await k.submit({ type: "warm" });
      await waitFor("the first job", () => warm);
      await k.submit({ type: "parent" });
      await waitFor("every child", () => ran === 8, { timeoutMs: 10_000 });
      expect(granted).toEqual([8]);
      expect(most).toBeLessThanOrEqual(2);
      const recorded = await waitFor("every outcome recorded", async () => {
        const now = await states();
        return now.length === 1 && now[0]?.state === "completed" ? now : undefined;
      });
      expect(recorded).toEqual([{ state: "completed", n: 8 }]);
    });

    test(`jobs longer than ${HOLD_WAIT_MS} ms: only the free slots are handed off`, async () => {
      const k = await node(2);
      const granted: number[] = [];
      let ran = 0;
      k.registry.register(
        "parent",
        parentHandler(8, granted, () => clock.advance(HOLD_WAIT_MS * 3)),
      );
      k.registry.register("child", () => {
        ran++;
      });
      await k.start();
      await k.submit({ type: "parent" });
      await waitFor("every child", () => ran === 8, { timeoutMs: 10_000 });
      expect(granted).toHaveLength(1);
      expect(granted[0]).toBeLessThanOrEqual(2);
    });

    /** Eight jobs queued for a worker with two slots that claims up to eight at a time. */
    const claimsOfEight = async (run: () => void) => {
      const k = await node(2, { batchSize: 8 });
      const claims: number[] = [];
      let running = 0;
      let most = 0;
      let ran = 0;
      k.registry.register("work", {
        run: async () => {
          most = Math.max(most, ++running);
          run();
          await new Promise((resolve) => setImmediate(resolve)); // let the others start meanwhile
          running--;
          ran++;
        },
        async onClaimed(_tx, claimed) {
          claims.push(claimed.length);
          return undefined;
        },
      });
      await k.start();
      // A first job tells the worker how long its jobs take.
      await k.submit({ type: "work" });
      await waitFor("the first job", () => ran === 1);
      await jobs.submitMany(
        nodes.db,
        Array.from({ length: 8 }, () => ({ type: "work" })),
      );
      await waitFor("every job", () => ran === 9, { timeoutMs: 10_000 });
      return { claims: claims.slice(1), most };
    };

    test("short jobs: a claim takes more than the free slots; they wait, at most `concurrency` run at once", async () => {
      const { claims, most } = await claimsOfEight(() => {});
      expect(claims).toEqual([8]);
      expect(most).toBeLessThanOrEqual(2);
    });

    test(`jobs longer than ${HOLD_WAIT_MS} ms: a claim takes only the free slots`, async () => {
      const { claims, most } = await claimsOfEight(() => clock.advance(HOLD_WAIT_MS * 3));
      expect(claims.reduce((a, b) => a + b, 0)).toBe(8);
      expect(Math.max(...claims)).toBeLessThanOrEqual(2);
      expect(most).toBeLessThanOrEqual(2);
    });

    /**
     * Three slots; a parent job runs (`parentRun` after its gate opens) and its completion hands off
     * two children while a claim of two gated jobs holds its transaction open. Returns what the
     * completion was granted and the most jobs that ran at once.
     */
    const duringClaim = async (o: { short: boolean; parentRun: () => unknown }) => {
      const k = await node(3, { batchSize: 2 });
      const granted: number[] = [];
      const parentGate = deferred();
      const claimGate = deferred();
      const release = deferred();
      let inClaim = 0;
      let running = 0;
      let most = 0;
      let warm = false;
      const busy = async () => {
        most = Math.max(most, ++running);
        await release.promise;
        running--;
      };
      k.registry.register("warm", () => {
        warm = true;
      });
      k.registry.register(
        "parent",
        parentHandler(2, granted, async () => {
          await parentGate.promise;
          await o.parentRun();
        }),
      );
      k.registry.register("child", busy);
      // Jobs whose claim transaction stays open until the test lets it commit.
      k.registry.register("gated", {
        run: busy,
        async onClaimed(_tx, claimed) {
          inClaim = claimed.length;
          await claimGate.promise;
          return undefined;
        },
      });
      await k.start();
      if (o.short) {
        await k.submit({ type: "warm" }); // the worker learns its jobs are short
        await waitFor("the first job", () => warm);
      }
      await k.submit({ type: "parent" });
      await waitFor("the parent running", () => k.worker.inFlight === 1);
      await jobs.submitMany(nodes.db, [{ type: "gated" }, { type: "gated" }]);
      await waitFor("a claim of both gated jobs in flight", () => inClaim === 2);
      // The parent completes while that claim holds two of the three slots.
      parentGate.resolve();
      await waitFor("the children handed off", () => granted.length === 1);
      claimGate.resolve();
      await waitFor("three jobs running", () => running >= 3);
      release.resolve();
      await waitFor("everything done", async () => {
        const now = await nodes.db.query<{ n: number }>(
          sql`SELECT count(*)::int AS n FROM kronos_jobs WHERE state <> 'completed'`,
        );
        return now[0]?.n === 0;
      });
      return { granted, most };
    };

    // PostgreSQL only: PGlite has one connection, so a completion cannot commit while a claim is open.
    test.skipIf(backend.name === "pglite")("a completion cannot hand off the slots of a claim in flight", async () => {
      // A long parent (so no waiting line).
      const { granted, most } = await duringClaim({
        short: false,
        parentRun: () => clock.advance(HOLD_WAIT_MS * 5),
      });
      expect(granted[0]).toBeLessThanOrEqual(1);
      expect(most).toBe(3);
    });

    // PostgreSQL only, as above. With short jobs the completion may hand off more than is free:
    // whatever arrives without a free slot, handed off or claimed, waits for one.
    test.skipIf(backend.name === "pglite")(
      "short jobs handed off during a claim: never more than `concurrency` run at once",
      async () => {
        const { granted, most } = await duringClaim({ short: true, parentRun: () => {} });
        expect(granted).toEqual([2]);
        expect(most).toBe(3);
      },
    );

    test("a waiting job that is cancelled never starts; the others run", async () => {
      // Leases renewed only every 20 s: the cancel notification alone must take the job out.
      const k = await node(1, { leaseMs: 60_000 });
      const granted: number[] = [];
      const started: number[] = [];
      const gate = deferred();
      k.registry.register("parent", parentHandler(3, granted));
      k.registry.register("child", async (payload: { i: number } | null) => {
        started.push(payload?.i ?? -1);
        if (payload?.i === 0) await gate.promise;
      });
      await k.start();
      await k.submit({ type: "child" }); // short: the worker learns its jobs are short
      await waitFor("the first job", () => started.length === 1);
      await k.submit({ type: "parent" });
      // Child 0 holds the only slot; children 1 and 2 wait in the worker.
      await waitFor("child 0 running, two waiting", () => started.includes(0) && k.worker.inFlight === 3);
      expect(granted).toEqual([3]);
      const [waiting] = await nodes.db.query<{ id: number }>(
        sql`SELECT id FROM kronos_jobs WHERE type = 'child' AND payload->>'i' = '2'`,
      );
      await jobs.cancel(nodes.db, { id: (waiting as { id: number }).id });
      await waitFor("the cancelled job to leave the worker", () => k.worker.inFlight === 2, { timeoutMs: 5_000 });
      gate.resolve();
      await waitFor("child 1", () => started.includes(1));
      await waitFor("nothing in flight", () => k.worker.inFlight === 0);
      expect(started.filter((i) => i !== -1).sort()).toEqual([0, 1]);
      const recorded = await waitFor("every outcome recorded", async () => {
        const now = await states();
        return now.some((r) => r.state === "running" || r.state === "pending") ? undefined : now;
      });
      expect(recorded).toEqual([
        { state: "cancelled", n: 1 },
        { state: "completed", n: 3 },
      ]);
    });

    test("stop past the grace hands back the running job and the waiting ones, attempts not counted", async () => {
      const k = await node(1);
      const granted: number[] = [];
      let first = true;
      k.registry.register("parent", parentHandler(3, granted));
      k.registry.register("child", async (payload: { i: number } | null, { signal }) => {
        if (first) {
          first = false;
          return;
        }
        if (payload?.i === 0) await new Promise((resolve) => signal.addEventListener("abort", resolve));
      });
      await k.start();
      await k.submit({ type: "child" });
      await waitFor("the first job", () => !first && k.worker.inFlight === 0);
      await k.submit({ type: "parent" });
      await waitFor("child 0 running, two waiting", () => k.worker.inFlight === 3);
      expect(await k.stop(50)).toEqual({ finished: false, handedBack: 3 });
      const back = await nodes.db.query<{ state: string; attempt: number }>(
        sql`SELECT state, attempt FROM kronos_jobs WHERE type = 'child' AND payload IS NOT NULL AND payload <> 'null'::jsonb ORDER BY id`,
      );
      expect(back).toEqual([
        { state: "pending", attempt: 0 },
        { state: "pending", attempt: 0 },
        { state: "pending", attempt: 0 },
      ]);
    });
  });
}
