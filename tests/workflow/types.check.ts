// Compile-time tests of typed step I/O: `npm run typecheck` fails if any @ts-expect-error line
// compiles without an error, or if a correct line stops compiling. Nothing here runs.
import { workflow } from "../../src/index.ts";

export const ok = workflow<{ userId: string }>("typed", "v1")
  .step("fetch", ({ userId }) => ({ userId, age: 42 }))
  .step("name", (user) => user.userId.toUpperCase(), { after: ["fetch"] })
  .step("age", (user) => user.age + 1, { after: ["fetch"] })
  .step("both", ({ name, age }) => `${name.toLowerCase()}:${age.toFixed(0)}`, { after: ["name", "age"] })
  .step("async", async (s) => s.length, { after: ["both"] });

export const wrongRunInput = workflow<{ userId: string }>("typed", "v1")
  // @ts-expect-error the run input has no field "id"
  .step("fetch", ({ id }) => id);

export const wrongDependencyType = workflow<{ n: number }>("typed", "v1")
  .step("count", ({ n }) => n)
  // @ts-expect-error "count" outputs a number, which has no toUpperCase
  .step("shout", (n) => n.toUpperCase(), { after: ["count"] });

export const unknownDependency = workflow("typed", "v1")
  .step("a", () => 1)
  // @ts-expect-error there is no step "b" to run after
  .step("c", (x) => x, { after: ["b"] });

export const fanInKeys = workflow("typed", "v1")
  .step("a", () => 1)
  .step("b", () => "x")
  // @ts-expect-error a fan-in input has only the keys of its dependencies
  .step("c", ({ a, z }) => [a, z], { after: ["a", "b"] });

export const duplicateStep = workflow("typed", "v1")
  .step("a", () => 1)
  // @ts-expect-error a second step named "a"
  .step("a", () => 2);

export const fanInTypes = workflow("typed", "v1")
  .step("a", () => 1)
  .step("b", () => "x")
  // @ts-expect-error "b" is a string, not a number
  .step("c", ({ b }): number => b, { after: ["a", "b"] });
