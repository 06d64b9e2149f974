/**
 * Structural JSON diff for the compare view. Objects are compared key by key; arrays are aligned
 * on equal elements first (longest common subsequence), so one inserted item shows as one
 * addition rather than as every later item changed; what is left over is paired and compared in
 * depth. Paths and the text form are those of `kronos replay` (src/replay/json-diff.ts).
 */
import { formatDiff, type JsonChange } from "../../src/replay/json-diff.ts";

export type { JsonChange };

export type Diff =
  | { kind: "same"; value: unknown }
  | { kind: "added"; value: unknown }
  | { kind: "removed"; value: unknown }
  | { kind: "changed"; before: unknown; after: unknown }
  | { kind: "object"; entries: { key: string; diff: Diff }[] }
  | { kind: "array"; items: { before?: number; after?: number; diff: Diff }[] };

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** JSON text with sorted keys: equal values, equal text. */
export function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_k, v: unknown) =>
    isObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Keys of both, in `after`'s order, each key only in `before` placed after its predecessor there. */
function mergedKeys(before: Obj, after: Obj): string[] {
  const keys = Object.keys(after);
  const beforeKeys = Object.keys(before);
  beforeKeys.forEach((k, i) => {
    if (k in after) return;
    const prev = beforeKeys
      .slice(0, i)
      .reverse()
      .find((p) => keys.includes(p));
    keys.splice(prev === undefined ? 0 : keys.indexOf(prev) + 1, 0, k);
  });
  return keys;
}

type Op = { op: "same" | "del" | "ins"; i: number; j: number };

/** Edit script from a to b over comparable keys (LCS; a common prefix and suffix are trimmed first). */
export function align(a: readonly string[], b: readonly string[], limit = 250_000): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: Op[] = [];
  for (let k = 0; k < start; k++) ops.push({ op: "same", i: k, j: k });
  const n = endA - start;
  const m = endB - start;
  if (n * m > limit) {
    // Too large to align: compare position by position.
    for (let k = 0; k < Math.max(n, m); k++) {
      if (k < n) ops.push({ op: "del", i: start + k, j: -1 });
      if (k < m) ops.push({ op: "ins", i: -1, j: start + k });
    }
  } else {
    const table = new Uint32Array((n + 1) * (m + 1));
    const at = (i: number, j: number) => table[i * (m + 1) + j] as number;
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        table[i * (m + 1) + j] =
          a[start + i] === b[start + j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[start + i] === b[start + j]) {
        ops.push({ op: "same", i: start + i++, j: start + j++ });
      } else if (i < n && (j === m || at(i + 1, j) >= at(i, j + 1))) {
        ops.push({ op: "del", i: start + i++, j: -1 });
      } else {
        ops.push({ op: "ins", i: -1, j: start + j++ });
      }
    }
  }
  for (let k = 0; k < a.length - endA; k++) ops.push({ op: "same", i: endA + k, j: endB + k });
  return ops;
}

function diffArrays(before: unknown[], after: unknown[]): Diff {
  const ops = align(before.map(canonical), after.map(canonical));
  const items: { before?: number; after?: number; diff: Diff }[] = [];
  let dels: number[] = [];
  let ins: number[] = [];
  const flush = () => {
    // Removed and added items between two equal ones are paired and compared in depth.
    const paired = Math.min(dels.length, ins.length);
    for (let k = 0; k < paired; k++) {
      const i = dels[k] as number;
      const j = ins[k] as number;
      items.push({ before: i, after: j, diff: diff(before[i], after[j]) });
    }
    for (const i of dels.slice(paired)) items.push({ before: i, diff: { kind: "removed", value: before[i] } });
    for (const j of ins.slice(paired)) items.push({ after: j, diff: { kind: "added", value: after[j] } });
    dels = [];
    ins = [];
  };
  for (const o of ops) {
    if (o.op === "del") dels.push(o.i);
    else if (o.op === "ins") ins.push(o.j);
    else {
      flush();
      items.push({ before: o.i, after: o.j, diff: { kind: "same", value: after[o.j] } });
    }
  }
  flush();
  return { kind: "array", items };
}

/** The structural difference from `before` to `after` (JSON values). */
export function diff(before: unknown, after: unknown): Diff {
  if (deepEqual(before, after)) return { kind: "same", value: after };
  if (before === undefined) return { kind: "added", value: after };
  if (after === undefined) return { kind: "removed", value: before };
  if (Array.isArray(before) && Array.isArray(after)) return diffArrays(before, after);
  if (isObject(before) && isObject(after)) {
    return {
      kind: "object",
      entries: mergedKeys(before, after).map((key) => ({
        key,
        diff: !(key in before)
          ? { kind: "added", value: after[key] }
          : !(key in after)
            ? { kind: "removed", value: before[key] }
            : diff(before[key], after[key]),
      })),
    };
  }
  return { kind: "changed", before, after };
}

/** `$.user` + `tags` -> `$.user.tags`; keys that are not identifiers are quoted: `$["notify-1"]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** The differences as a flat list of paths (what `kronos replay` prints). */
export function changesOf(d: Diff, path = "$"): JsonChange[] {
  switch (d.kind) {
    case "same":
      return [];
    case "added":
      return [{ path, kind: "added", after: d.value }];
    case "removed":
      return [{ path, kind: "removed", before: d.value }];
    case "changed":
      return [{ path, kind: "changed", before: d.before, after: d.after }];
    case "object":
      return d.entries.flatMap((e) => changesOf(e.diff, childPath(path, e.key)));
    case "array":
      return d.items.flatMap((it) => changesOf(it.diff, childPath(path, (it.after ?? it.before) as number)));
  }
}

/** The differences as text lines: `~ $.score: 12 -> 13`, `+ $.tags[2]: "new"`, `- $.old: 1`. */
export const diffText = (d: Diff): string => formatDiff(changesOf(d)).join("\n");

export function countChanges(d: Diff): { added: number; removed: number; changed: number } {
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const c of changesOf(d)) counts[c.kind]++;
  return counts;
}

export type TextPiece = { op: "same" | "del" | "ins"; text: string };

/** Word-level difference of two strings, for a changed string value; undefined if too long to compare. */
export function textDiff(a: string, b: string): TextPiece[] | undefined {
  const split = (s: string) => s.match(/\s+|[A-Za-z0-9_]+|[^\sA-Za-z0-9_]/g) ?? [];
  const ta = split(a);
  const tb = split(b);
  if (ta.length * tb.length > 40_000) return undefined;
  const pieces: TextPiece[] = [];
  for (const o of align(ta, tb)) {
    const op = o.op;
    const t = op === "ins" ? (tb[o.j] as string) : (ta[o.i] as string);
    const last = pieces.at(-1);
    if (last && last.op === op) last.text += t;
    else pieces.push({ op, text: t });
  }
  return pieces;
}
