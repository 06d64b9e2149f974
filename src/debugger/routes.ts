/**
 * What the debugger needs besides the Connect API: live updates as Server-Sent Events, and run
 * search by id prefix. Mounted under /debugger/api/ behind the API token.
 */
import { toJson } from "@bufbuild/protobuf";
import type { Context, Hono } from "hono";
import { eventMessage, runMessage } from "../api/convert.ts";
import { EventSchema, RunSchema } from "../gen/kronos/v1/kronos_pb.ts";
import type { Kronos } from "../kronos.ts";
import type { Logger } from "../log.ts";
import * as blobs from "../store/blobs.ts";
import { runIdsInRange } from "../store/debugger-reads.ts";
import type { EventRow } from "../store/events.ts";
import * as runs from "../store/runs.ts";
import type { RunChangeHub } from "./live.ts";
import { sseResponse } from "./sse.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SEARCH_LIMIT = 20;

export interface DebuggerApiDeps {
  kronos: Kronos;
  hub: RunChangeHub;
  log: Logger;
}

/** The part of Bun's server a handler reaches through Hono's `c.env`. */
interface BunServerLike {
  timeout?(request: Request, seconds: number): void;
}

const problem = (c: Context, status: 400 | 404, code: string, message: string) => c.json({ code, message }, status);

/** A stream stays open as long as the page does: lift Bun's 10 s idle limit for it. */
function keepOpen(c: Context): void {
  (c.env as BunServerLike | undefined)?.timeout?.(c.req.raw, 0);
}

/** "3fa8" -> the first and last UUIDs starting with it; undefined unless 1–32 hex digits. */
export function uuidRange(prefix: string): { low: string; high: string } | undefined {
  const hex = prefix.trim().toLowerCase().replaceAll("-", "");
  if (!/^[0-9a-f]{1,32}$/.test(hex)) return undefined;
  const uuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  return { low: uuid(hex.padEnd(32, "0")), high: uuid(hex.padEnd(32, "f")) };
}

export function mountDebuggerApi(app: Hono, d: DebuggerApiDeps): void {
  const stopWhen = () => d.kronos.draining;
  const onError = (error: unknown) => d.log.warn("debugger stream failed", { error: String(error) });

  // Runs that got events, in batches: the runs list refreshes itself from them.
  app.get("/debugger/api/live", (c) => {
    keepOpen(c);
    return sseResponse(
      c.req.raw.signal,
      async (sink) => {
        const stop = await d.hub.subscribe((changes) => sink.send("runs", changes));
        sink.send("ready", { nodeId: d.kronos.nodeId });
        return stop;
      },
      { stopWhen, onError },
    );
  });

  // One run's events after `after` (or Last-Event-ID), history first, then live, as the same
  // JSON the API's GetRunEvents returns.
  app.get("/debugger/api/runs/:id/events", async (c) => {
    const id = c.req.param("id").toLowerCase();
    if (!UUID.test(id)) return problem(c, 400, "invalid_argument", `run id "${c.req.param("id")}" is not a UUID`);
    const afterText = c.req.query("after") ?? c.req.header("last-event-id") ?? "0";
    const after = /^\d{1,9}$/.test(afterText) ? Number(afterText) : Number.NaN;
    if (!Number.isSafeInteger(after)) {
      return problem(c, 400, "invalid_argument", `after must be a sequence number (0 or more), not "${afterText}"`);
    }
    if (!(await runs.get(d.kronos.db, { id }))) return problem(c, 404, "not_found", `run ${id} does not exist`);
    keepOpen(c);
    return sseResponse(
      c.req.raw.signal,
      (sink) =>
        d.kronos.feed.watch(id, after, (rows: EventRow[]) => {
          const last = rows.at(-1);
          if (last)
            sink.send(
              "events",
              rows.map((r) => toJson(EventSchema, eventMessage(r))),
              last.seq,
            );
        }),
      { stopWhen, onError },
    );
  });

  // Runs whose id starts with `prefix` (the search box), as ListRuns returns them.
  app.get("/debugger/api/runs", async (c) => {
    const prefix = c.req.query("prefix") ?? "";
    const range = uuidRange(prefix);
    if (!range) {
      return problem(
        c,
        400,
        "invalid_argument",
        `prefix must be 1 to 32 hexadecimal digits of a run id, not "${prefix}"`,
      );
    }
    const ids = await runIdsInRange(d.kronos.db, { ...range, limit: SEARCH_LIMIT });
    const rows = (await Promise.all(ids.map((id) => runs.get(d.kronos.db, { id })))).filter(
      (r): r is runs.RunRow => r !== undefined,
    );
    const values = await blobs.get(
      d.kronos.db,
      rows.flatMap((r) => (r.outputHash ? [r.inputHash, r.outputHash] : [r.inputHash])),
    );
    const json = rows
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .map((r) =>
        toJson(
          RunSchema,
          runMessage(r, {
            input: values.get(r.inputHash),
            output: r.outputHash ? values.get(r.outputHash) : undefined,
          }),
        ),
      );
    return c.json({ runs: json, truncated: ids.length === SEARCH_LIMIT });
  });

  app.all("/debugger/api/*", (c) => problem(c, 404, "not_found", `no debugger API at ${c.req.path}`));
}
