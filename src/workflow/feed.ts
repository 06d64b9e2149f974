import type { Database } from "../db/index.ts";
import type { Logger } from "../log.ts";
import type { EventRow } from "../store/events.ts";
import * as events from "../store/events.ts";

type Listener = { afterSeq: number; deliver(rows: EventRow[]): void; busy: boolean; again: boolean };

/**
 * Live run events for every watcher in this process over one LISTEN: a notification names the
 * runs that got events, and each watcher of those runs reads what came after its last seq.
 */
export class RunEventFeed {
  readonly #watchers = new Map<string, Set<Listener>>();
  #unlisten: (() => Promise<void>) | undefined;
  #starting: Promise<void> | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
  ) {}

  async #ensureListening(): Promise<void> {
    this.#starting ??= (async () => {
      this.#unlisten = await this.db.listen("kronos_events", (payload) => {
        const ids = payload === "" ? [...this.#watchers.keys()] : payload.split(",");
        for (const id of ids) for (const l of this.#watchers.get(id) ?? []) void this.#pull(id, l);
      });
      // Notifications are lost while a connection is down: a slow poll covers the gap.
      this.#poll = setInterval(() => {
        for (const [id, set] of this.#watchers) for (const l of set) void this.#pull(id, l);
      }, 2_000);
    })();
    await this.#starting;
  }

  async #pull(runId: string, l: Listener): Promise<void> {
    if (l.busy) {
      l.again = true;
      return;
    }
    l.busy = true;
    try {
      do {
        l.again = false;
        const rows = await events.list(this.db, { runId, afterSeq: l.afterSeq, limit: 1000 });
        if (rows.length > 0) {
          l.afterSeq = (rows.at(-1) as EventRow).seq;
          l.deliver(rows);
          if (rows.length === 1000) l.again = true;
        }
      } while (l.again);
    } catch (error) {
      this.log.warn("could not read run events", { runId, error: String(error) });
    } finally {
      l.busy = false;
    }
  }

  /**
   * Calls `deliver` with every event of the run after `afterSeq`, now and as they are appended,
   * until the returned function is called.
   */
  async watch(runId: string, afterSeq: number, deliver: (rows: EventRow[]) => void): Promise<() => void> {
    await this.#ensureListening();
    const l: Listener = { afterSeq, deliver, busy: false, again: false };
    let set = this.#watchers.get(runId);
    if (!set) {
      set = new Set();
      this.#watchers.set(runId, set);
    }
    set.add(l);
    await this.#pull(runId, l);
    return () => {
      set.delete(l);
      if (set.size === 0) this.#watchers.delete(runId);
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#poll);
    this.#watchers.clear();
    await this.#unlisten?.().catch(() => {});
  }
}
