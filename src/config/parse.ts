/**
 * Parsers for the value kinds settings use. Each takes the raw text and returns the value or throws
 * an `Error` whose message says what was wrong and how to write it; `loadConfig` prefixes the name
 * of the variable. Messages quote the value, so parsers for secrets must not use `quote`.
 */

/** A listen address: `{ host: "0.0.0.0", port: 8080 }` from `":8080"`. Port 0 means any free port. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** The host an address without one listens on (every IPv4 interface, like Go's `:8080`). */
export const DEFAULT_HOST = "0.0.0.0";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
const DURATION_HINT = "use e.g. 500ms, 2s, 5m";

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1_024,
  mib: 1_048_576,
  gib: 1_073_741_824,
};
const SIZE_FORMAT = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/;

/** The value in double quotes with escapes, so blanks and control characters show. */
export function quote(text: string): string {
  return JSON.stringify(text);
}

/**
 * Milliseconds from `"500ms"`, `"2s"`, `"5m"`, `"1h"`, `"7d"` or compounds like `"1m30s"`.
 * A bare number is refused: `"30"` could mean seconds or milliseconds.
 * @example parseDuration("1m30s") // 90_000
 */
export function parseDuration(text: string): number {
  const input = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(input)) {
    throw new Error(`${quote(text)} has no unit (add one, e.g. ${input}ms or ${input}s)`);
  }
  let total = 0;
  DURATION_PART.lastIndex = 0;
  let at = 0;
  while (at < input.length) {
    const match = DURATION_PART.exec(input);
    if (!match) break;
    total += Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
    at = DURATION_PART.lastIndex;
  }
  if (input.length === 0 || at !== input.length) {
    throw new Error(`${quote(text)} is not a duration (${DURATION_HINT})`);
  }
  return Math.round(total);
}

/**
 * A duration in the shortest form `parseDuration` reads back: `90_000` -> `"1m30s"`.
 * @example formatDuration(3_600_000) // "1h"
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const unit of ["d", "h", "m", "s", "ms"]) {
    const size = DURATION_UNITS[unit] as number;
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/**
 * Bytes from `"123"`, `"10KB"` (1000s) or `"4MiB"` (1024s); units are not case-sensitive.
 * @example parseSize("4MiB") // 4_194_304
 */
export function parseSize(text: string): number {
  const match = SIZE_FORMAT.exec(text.trim().toLowerCase());
  const factor = match ? SIZE_UNITS[match[2] || "b"] : undefined;
  if (!match || factor === undefined) {
    throw new Error(`${quote(text)} is not a size (use e.g. 65536, 512KiB, 4MiB, 1MB)`);
  }
  return Math.floor(Number(match[1]) * factor);
}

/** A size in the largest binary unit that divides it: `4_194_304` -> `"4MiB"`. */
export function formatSize(bytes: number): string {
  for (const unit of ["gib", "mib", "kib"] as const) {
    const size = SIZE_UNITS[unit] as number;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit.slice(0, 1).toUpperCase()}iB`;
  }
  return String(bytes);
}

/**
 * A listen address: `"host:port"`, `":port"` (every interface) or `"[::1]:port"` for IPv6.
 * @example parseAddress(":8080") // { host: "0.0.0.0", port: 8080 }
 */
export function parseAddress(text: string): Address {
  const input = text.trim();
  const hint = "use host:port or :port, e.g. :8080 or 127.0.0.1:8080";
  if (/^\d+$/.test(input)) throw new Error(`${quote(text)} has no colon (did you mean ":${input}"?)`);
  const match = /^(?:\[([0-9a-fA-F:.%\w]+)\]|([^\s:[\]/]*)):(\d*)$/.exec(input);
  if (!match) throw new Error(`${quote(text)} is not an address (${hint})`);
  const [, ipv6, name, portText] = match;
  if (!portText) throw new Error(`${quote(text)} has no port (${hint})`);
  const port = Number(portText);
  if (port > 65_535) throw new Error(`${quote(text)} has port ${port}, above 65535`);
  return { host: ipv6 ?? (name || DEFAULT_HOST), port };
}

/**
 * A whole number within bounds; no signs, decimals or exponents.
 * @example parseInteger("10", 1, 100) // 10
 */
export function parseInteger(text: string, min: number, max: number): number {
  const input = text.trim();
  if (!/^\d+$/.test(input)) throw new Error(`${quote(text)} is not a whole number`);
  const n = Number(input);
  if (n < min || n > max) throw new Error(`${quote(text)} is out of range (must be between ${min} and ${max})`);
  return n;
}

/**
 * One of a fixed set of words, not case-sensitive.
 * @example parseChoice("INFO", ["debug", "info"] as const) // "info"
 */
export function parseChoice<const T extends string>(text: string, choices: readonly T[]): T {
  const input = text.trim().toLowerCase();
  const found = choices.find((c) => c === input);
  if (found === undefined) throw new Error(`${quote(text)} is not one of ${choices.join(", ")}`);
  return found;
}

/** Checks a parsed duration against bounds, naming them in the units people write. */
export function durationWithin(text: string, ms: number, min: number, max = Number.POSITIVE_INFINITY): number {
  if (ms >= min && ms <= max) return ms;
  const range =
    max === Number.POSITIVE_INFINITY
      ? `must be at least ${formatDuration(min)}`
      : `must be between ${formatDuration(min)} and ${formatDuration(max)}`;
  throw new Error(`${quote(text)} is out of range (${range})`);
}
