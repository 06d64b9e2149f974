import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { useAuth } from "./auth.ts";

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again, keeping the current data on screen meanwhile. */
  reload(): void;
}

/**
 * Loads `fn()` whenever `deps` change (or the API token does), dropping answers that arrive
 * after newer requests. With `initial` (an answer already in hand) the first load is skipped.
 */
export function useAsync<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  initial?: () => T | undefined,
): Async<T> {
  const { epoch } = useAuth();
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>(() => {
    const data = initial?.();
    return data === undefined ? { loading: true } : { data, loading: false };
  });
  const skip = useRef(state.data !== undefined);
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    if (skip.current) {
      skip.current = false;
      return;
    }
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    fnRef.current(abort.signal).then(
      (data) => {
        if (!abort.signal.aborted) setState({ data, loading: false });
      },
      (error: unknown) => {
        if (!abort.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => abort.abort();
  }, [...deps, epoch, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** The current time, refreshed every `everyMs` (for "running for 3 s" labels). */
export function useNow(everyMs = 1_000, active = true): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs, active]);
  return now;
}

/** Calls `fn` at most once per `ms`, the last call winning (trailing edge). */
export function useThrottled(fn: () => void, ms: number): () => void {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const last = useRef(0);
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current) return;
    const wait = Math.max(0, last.current + ms - Date.now());
    timer.current = setTimeout(() => {
      timer.current = undefined;
      last.current = Date.now();
      fnRef.current();
    }, wait);
  }, [ms]);
}

/** Sets the document title while a page is shown. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Kronos`;
  }, [title]);
}
