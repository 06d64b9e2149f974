/**
 * Which runs changed, for every open runs list in this process, over one LISTEN on
 * `kronos_events` (its payload names the runs that got events). Notifications are gathered for a
 * moment and sent as one batch, so a burst of a thousand step events is one message, not a
 * thousand refreshes.
 */
import type { Database } from "../db/index.ts";
import type { Logger } from "../log.ts";

/** Run ids that got events, or "all" when the notification did not say which. */
export type RunChanges = { runIds: string[] } | { all: true };

type Subscriber = (changes: RunChanges) => void;

export class RunChangeHub {
  readonly #subscribers = new Set<Subscriber>();
  #pending = new Set<string>();
  #pendingAll = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #linger: ReturnType<typeof setTimeout> | undefined;
  #listening: Promise<() => Promise<void>> | undefined;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    /** How long notifications are gathered before a batch goes out. */
    private readonly batchMs = 150,
    /** How long the LISTEN stays after the last page leaves (page changes come back at once). */
    private readonly lingerMs = 30_000,
  ) {}

  #onNotify(payload: string): void {
    if (payload === "") this.#pendingAll = true;
    else for (const id of payload.split(",")) if (id) this.#pending.add(id);
    this.#timer ??= setTimeout(() => this.#flush(), this.batchMs);
  }

  #flush(): void {
    this.#timer = undefined;
    // A batch names at most 500 runs; past that, "everything changed" says as much in less.
    const changes: RunChanges =
      this.#pendingAll || this.#pending.size > 500 ? { all: true } : { runIds: [...this.#pending] };
    this.#pending = new Set();
    this.#pendingAll = false;
    for (const s of this.#subscribers) s(changes);
  }

  /** Calls `onChange` with each batch until the returned function is called. */
  async subscribe(onChange: Subscriber): Promise<() => void> {
    clearTimeout(this.#linger);
    this.#linger = undefined;
    this.#subscribers.add(onChange);
    this.#listening ??= this.db.listen("kronos_events", (payload) => this.#onNotify(payload));
    try {
      await this.#listening;
    } catch (error) {
      this.#subscribers.delete(onChange);
      this.#listening = undefined;
      throw error;
    }
    return () => {
      this.#subscribers.delete(onChange);
      if (this.#subscribers.size > 0) return;
      clearTimeout(this.#linger);
      this.#linger = setTimeout(() => {
        if (this.#subscribers.size === 0) void this.#stop();
      }, this.lingerMs);
      this.#linger.unref?.();
    };
  }

  async #stop(): Promise<void> {
    const listening = this.#listening;
    this.#listening = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      const unlisten = await listening;
      await unlisten?.();
    } catch (error) {
      this.log.debug("debugger: could not stop listening for run events", { error: String(error) });
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.#linger);
    this.#subscribers.clear();
    await this.#stop();
  }
}
