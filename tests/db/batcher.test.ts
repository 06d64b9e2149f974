import { expect, test } from "bun:test";
import { Batcher } from "../../src/db/batcher.ts";

test("concurrent pushes share batches; a failing item fails only its own caller", async () => {
  const batches: number[][] = [];
  const b = new Batcher<number, number>(async (items) => {
    batches.push(items);
    await Promise.resolve();
    if (items.includes(13)) throw new Error("unlucky");
    return items.map((n) => n * 2);
  }, 4);
  const results = await Promise.allSettled([1, 2, 3, 13, 5, 6].map((n) => b.push(n)));
  expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([
    2,
    4,
    6,
    "unlucky",
    10,
    12,
  ]);
  // The first push writes alone; the rest waited and went together (at most 4), the failed batch item by item.
  expect(batches[0]).toEqual([1]);
  expect(batches[1]).toEqual([2, 3, 13, 5]);
  expect(batches.slice(2)).toEqual([[2], [3], [13], [5], [6]]);
});
