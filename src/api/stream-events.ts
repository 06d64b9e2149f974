/** StreamRunEvents: a run's history, then its live events, until the run's final event. */
import type { ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError } from "../errors.ts";
import type { KronosService } from "../gen/kronos/v1/kronos_pb.ts";
import type { EventRow, EventType } from "../store/events.ts";
import * as events from "../store/events.ts";
import type { RunEventFeed } from "../workflow/feed.ts";
import { eventMessage } from "./convert.ts";
import { intWithin, runIdOf } from "./fields.ts";
import { existingRun } from "./runs-service.ts";
import type { ApiDeps } from "./service.ts";

const FINAL: ReadonlySet<EventType> = new Set(["run_completed", "run_failed", "run_cancelled"]);

/**
 * Yields the run's events after `afterSeq` as the feed delivers them (history first), and returns
 * after a final event or when `signal` fires (the client hung up, or the server is closing).
 */
async function* liveEvents(
  feed: RunEventFeed,
  runId: string,
  afterSeq: number,
  signal: AbortSignal,
): AsyncGenerator<EventRow> {
  const queue: EventRow[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  signal.addEventListener("abort", notify);
  let unwatch: (() => void) | undefined;
  try {
    unwatch = await feed.watch(runId, afterSeq, (rows) => {
      queue.push(...rows);
      notify();
    });
    while (!signal.aborted) {
      const row = queue.shift();
      if (!row) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      yield row;
      if (FINAL.has(row.type)) return;
    }
  } finally {
    unwatch?.();
    signal.removeEventListener("abort", notify);
  }
}

export function streamEventsService(d: ApiDeps): Pick<ServiceImpl<typeof KronosService>, "streamRunEvents"> {
  return {
    async *streamRunEvents(req, context) {
      const run = await existingRun(d, runIdOf(req.runId));
      const afterSeq = intWithin(req.afterSeq, "afterSeq", 0, 2 ** 31 - 1);
      const db = d.kronos.db;
      // Past the end of the log, the final event would never be sent and the stream never end.
      if (afterSeq > 0 && (await events.list(db, { runId: run.id, afterSeq: afterSeq - 1, limit: 1 })).length === 0) {
        throw new InvalidArgumentError("afterSeq", `afterSeq ${afterSeq} is past the end of run ${run.id}'s event log`);
      }
      if (run.status !== "running") {
        // The log of a finished run is complete: send it and end. (A fork can still append
        // run_forked to it later; that is history for the next reader.)
        for (const row of await events.list(db, { runId: run.id, afterSeq })) yield { event: eventMessage(row) };
        return;
      }
      for await (const row of liveEvents(d.kronos.feed, run.id, afterSeq, context.signal)) {
        yield { event: eventMessage(row) };
      }
    },
  };
}
