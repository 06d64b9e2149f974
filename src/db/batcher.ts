/**
 * Group commit for independent writes: while one batch is being written, new items wait and go
 * together in the next one. One caller alone pays one round trip; a hundred callers at once share
 * a handful. A failed batch is retried item by item, so one bad item fails only its own caller.
 */
export class Batcher<I, O> {
  #pending: { item: I; resolve(o: O): void; reject(e: unknown): void }[] = [];
  #writing = false;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 500,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.maxBatch);
      try {
        const out = await this.write(batch.map((b) => b.item));
        for (const [i, b] of batch.entries()) b.resolve(out[i] as O);
      } catch (error) {
        if (batch.length === 1) {
          batch[0]?.reject(error);
          continue;
        }
        for (const b of batch) {
          await this.write([b.item]).then(
            (out) => b.resolve(out[0] as O),
            (e: unknown) => b.reject(e),
          );
        }
      }
    }
    this.#writing = false;
  }
}
