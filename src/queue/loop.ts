import type { Logger } from "../log.ts";

/**
 * The shape of every background service: `runOnce()` does one pass (tests call it directly),
 * `start()` repeats it every `intervalMs`, `stop()` waits for the pass in progress.
 */
export class Loop {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #current: Promise<void> | undefined;
  #running = false;

  constructor(
    readonly name: string,
    readonly intervalMs: number,
    private readonly pass: () => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#tick();
  }

  #tick(): void {
    if (!this.#running) return;
    this.#current = this.runOnce().finally(() => {
      this.#current = undefined;
      if (this.#running) this.#timer = setTimeout(() => this.#tick(), this.intervalMs);
    });
  }

  /** One pass; errors are logged, never thrown, so a loop survives a database restart. */
  async runOnce(): Promise<void> {
    try {
      await this.pass();
    } catch (error) {
      this.log.warn(`${this.name} pass failed`, { error: String(error) });
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#current;
  }
}
