// The compare view's JSON diff: structural, arrays aligned on equal items, paths as replay prints them.
import { describe, expect, test } from "bun:test";
import { jsonDiff } from "../../src/replay/json-diff.ts";
import { changesOf, diff, diffText, textDiff } from "../../ui/lib/diff.ts";

describe("diff", () => {
  test("equal values, key order aside, are the same", () => {
    expect(diff({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }).kind).toBe("same");
  });

  test("objects: changed, added and removed keys at their paths, as kronos replay prints them", () => {
    const before = { tier: "silver", score: 62, old: true, "notify-1": { to: "a" } };
    const after = { tier: "gold", score: 62, fresh: 1, "notify-1": { to: "b" } };
    const changes = changesOf(diff(before, after));
    expect(changes).toEqual([
      { path: "$.tier", kind: "changed", before: "silver", after: "gold" },
      { path: "$.old", kind: "removed", before: true },
      { path: "$.fresh", kind: "added", after: 1 },
      { path: '$["notify-1"].to', kind: "changed", before: "a", after: "b" },
    ]);
    // Same set of changes as replay's path-level diff, for objects.
    expect(new Set(changes.map((c) => c.path))).toEqual(new Set(jsonDiff(before, after).map((c) => c.path)));
    expect(diffText(diff(before, after)).split("\n")[0]).toBe('~ $.tier: "silver" -> "gold"');
  });

  test("arrays: one inserted item is one addition, not every later item changed", () => {
    const changes = changesOf(diff(["a", "b", "c", "d"], ["a", "x", "b", "c", "d"]));
    expect(changes).toEqual([{ path: "$[1]", kind: "added", after: "x" }]);
  });

  test("arrays: a changed record is compared in depth", () => {
    const before = [
      { id: 1, n: "a" },
      { id: 2, n: "b" },
    ];
    const after = [
      { id: 1, n: "a" },
      { id: 2, n: "B" },
      { id: 3, n: "c" },
    ];
    expect(changesOf(diff(before, after))).toEqual([
      { path: "$[1].n", kind: "changed", before: "b", after: "B" },
      { path: "$[2]", kind: "added", after: { id: 3, n: "c" } },
    ]);
  });

  test("a type change is one change", () => {
    expect(changesOf(diff({ a: [1] }, { a: { x: 1 } }))).toEqual([
      { path: "$.a", kind: "changed", before: [1], after: { x: 1 } },
    ]);
  });

  test("strings differ word by word", () => {
    expect(textDiff("Welcome, User u1 (silver)", "Welcome, User u1 (gold)")).toEqual([
      { op: "same", text: "Welcome, User u1 (" },
      { op: "del", text: "silver" },
      { op: "ins", text: "gold" },
      { op: "same", text: ")" },
    ]);
  });

  test("large arrays still diff quickly", () => {
    const before = Array.from({ length: 5_000 }, (_, i) => ({ i }));
    const after = before.map((x, i) => (i === 2_500 ? { i: -1 } : x));
    const started = performance.now();
    expect(changesOf(diff(before, after))).toEqual([{ path: "$[2500].i", kind: "changed", before: 2500, after: -1 }]);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
