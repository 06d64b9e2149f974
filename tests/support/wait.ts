import { type Queryable, sql } from "../../src/db/index.ts";
import type { Clock } from "../../src/queue/clock.ts";

/**
 * Waits until `check` returns a truthy value (polling every `everyMs`), or fails after `timeoutMs`
 * with `what` in the message. Tests wait for conditions, never for fixed times.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs = 20_000, everyMs = 10 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A promise with its resolve function, for signalling from inside handlers. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A clock that keeps real time, moved ahead by `advance`: a job can take time without sleeping. */
export function steppingClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance: (ms) => {
      offset += ms;
    },
  };
}

/**
 * Waits until a backend of this database is blocked on a lock (PostgreSQL only), optionally one
 * whose statement contains `statement`: how a test knows a transaction has reached a lock wait.
 */
export async function waitForLockWait(db: Queryable, what: string, statement = ""): Promise<void> {
  await waitFor(what, async () => {
    const [row] = await db.query<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'
        AND strpos(query, ${statement}) > 0`);
    return (row?.n ?? 0) > 0;
  });
}
