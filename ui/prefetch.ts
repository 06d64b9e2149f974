/**
 * Requests started before the first render: opening /debugger/runs/<id> asks for the run and its
 * events while the bundle is still starting, and waits a moment for them, so the first render is
 * the whole page (one style and layout pass) rather than a "loading" page and then the run.
 */
type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

const started = new Map<string, Promise<unknown>>();
const settled = new Map<string, Settled>();

export function prefetch<T>(key: string, load: () => Promise<T>): void {
  const p = load();
  started.set(key, p);
  p.then(
    (value) => settled.set(key, { ok: true, value }),
    (error: unknown) => settled.set(key, { ok: false, error }),
  );
}

/** Resolves once every one of `keys` has an answer, or after `ms`, whichever comes first. */
export function whenSettled(keys: readonly string[], ms: number): Promise<void> {
  const all = Promise.allSettled(keys.map((k) => started.get(k) ?? Promise.resolve()));
  return Promise.race([all.then(() => {}), new Promise<void>((resolve) => setTimeout(resolve, ms))]);
}

/** The prefetched value for `key` if it has arrived (taken: later calls load afresh). */
export function takeReady<T>(key: string): T | undefined {
  const s = settled.get(key);
  if (!s?.ok) return undefined;
  started.delete(key);
  settled.delete(key);
  return s.value as T;
}

/** The prefetched answer for `key` (once), else a fresh `load()`. */
export function take<T>(key: string, load: () => Promise<T>): Promise<T> {
  const p = started.get(key) as Promise<T> | undefined;
  started.delete(key);
  settled.delete(key);
  return p ?? load();
}
