/** One difference between two JSON values, at a path like `$.user.tags[2]`. */
export interface JsonChange {
  path: string;
  kind: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function key(path: string, k: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}

/**
 * Path-level differences from `before` to `after` (values as they come out of JSON). Objects are
 * compared key by key, arrays index by index; anything else by value.
 */
export function jsonDiff(before: unknown, after: unknown, path = "$"): JsonChange[] {
  if (Array.isArray(before) && Array.isArray(after)) {
    const changes: JsonChange[] = [];
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}[${i}]`;
      if (i >= before.length) changes.push({ path: p, kind: "added", after: after[i] });
      else if (i >= after.length) changes.push({ path: p, kind: "removed", before: before[i] });
      else changes.push(...jsonDiff(before[i], after[i], p));
    }
    return changes;
  }
  if (isObject(before) && isObject(after)) {
    const changes: JsonChange[] = [];
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const p = key(path, k);
      if (!(k in before)) changes.push({ path: p, kind: "added", after: after[k] });
      else if (!(k in after)) changes.push({ path: p, kind: "removed", before: before[k] });
      else changes.push(...jsonDiff(before[k], after[k], p));
    }
    return changes;
  }
  return Object.is(before, after) ? [] : [{ path, kind: "changed", before, after }];
}

/** The changes as readable lines: `~ $.score: 12 -> 13`, `+ $.tags[2]: "new"`, `- $.old: 1`. */
export function formatDiff(changes: readonly JsonChange[]): string[] {
  const show = (v: unknown) => JSON.stringify(v);
  return changes.map((c) =>
    c.kind === "added"
      ? `+ ${c.path}: ${show(c.after)}`
      : c.kind === "removed"
        ? `- ${c.path}: ${show(c.before)}`
        : `~ ${c.path}: ${show(c.before)} -> ${show(c.after)}`,
  );
}

/** Size of a diff as reported by replay: bytes of its JSON, 0 when the values are equal. */
export function diffSize(changes: readonly JsonChange[]): number {
  return changes.length === 0 ? 0 : new TextEncoder().encode(JSON.stringify(changes)).length;
}
