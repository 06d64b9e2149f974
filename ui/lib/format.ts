/** Times, durations and ids as people read them. */

/** 850 -> "850 ms", 1240 -> "1.24 s", 65000 -> "1 min 5 s", 7_380_000 -> "2 h 3 min". */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  if (m < 1_440) return `${Math.floor(m / 60)} h ${m % 60} min`;
  return `${Math.floor(m / 1_440)} d ${Math.floor((m % 1_440) / 60)} h`;
}

/** "3 s ago", "5 min ago", or a date for older times. */
export function ago(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return "–";
  const s = Math.round((now - ms) / 1_000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

/** Local date and time with milliseconds: "2026-11-27 16:13:52.268". */
export function stamp(ms: number | undefined): string {
  if (ms === undefined) return "–";
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Time of day with milliseconds: "16:13:52.268". */
export const clock = (ms: number | undefined): string => (ms === undefined ? "–" : stamp(ms).slice(11));

/** The first block of a UUID, enough to tell runs apart on screen. */
export const shortId = (id: string): string => id.slice(0, 8);

/** Size of a JSON value as text, for labels: "1.2 KB". */
export function jsonSize(value: unknown): string {
  const n = JSON.stringify(value ?? null).length;
  return n < 1_024 ? `${n} B` : n < 1_048_576 ? `${(n / 1_024).toFixed(1)} KB` : `${(n / 1_048_576).toFixed(1)} MB`;
}

export const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;
