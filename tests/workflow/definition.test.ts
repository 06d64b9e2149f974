import { describe, expect, test } from "bun:test";
import { DefinitionError } from "../../src/errors.ts";
import { buildDag, downstreamOf } from "../../src/workflow/dag.ts";
import { workflow } from "../../src/workflow/define.ts";
import { WorkflowRegistry } from "../../src/workflow/registry.ts";

const id = (x: unknown) => x;

function rejects(make: () => unknown, message: string, step?: string) {
  let caught: unknown;
  try {
    const wf = make();
    new WorkflowRegistry().add(wf as never);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DefinitionError);
  expect((caught as DefinitionError).message).toBe(message);
  if (step) expect((caught as DefinitionError).step).toBe(step);
}

describe("workflow definitions are validated with errors that name the step", () => {
  test("empty workflow", () => {
    rejects(() => workflow("w", "v1"), 'workflow "w" has no steps: add one with .step(name, fn)');
  });
  test("duplicate step", () => {
    // @ts-expect-error the type system refuses a second step of the same name too
    rejects(() => workflow("w", "v1").step("a", id).step("a", id), 'workflow "w" has two steps named "a"', "a");
  });
  test("unknown dependency", () => {
    rejects(
      () =>
        workflow("w", "v1")
          .step("a", id)
          // @ts-expect-error "nope" is not a step
          .step("b", id, { after: ["nope"] }),
      'step "b" of workflow "w" runs after "nope", which is not a step (steps: a, b)',
      "b",
    );
  });
  test("cycle", () => {
    // A cycle cannot be written with the typed builder (steps only see earlier steps), so build the DAG directly.
    expect(() =>
      buildDag("w", [
        { name: "a", after: ["c"] },
        { name: "b", after: ["a"] },
        { name: "c", after: ["b"] },
        { name: "d", after: [] },
      ]),
    ).toThrow('workflow "w" has a cycle: a -> b -> c -> a');
  });
  test("bad names, retries and timeouts", () => {
    rejects(
      () => workflow("bad name", "v1"),
      'workflow name "bad name" is not valid: use 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
    rejects(
      () => workflow("w", "v1").step("has space", id),
      'step name "has space" is not valid: use 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
    rejects(
      () => workflow("w", "v1").step("a", id, { retries: -1 }),
      'step "a": retries must be a whole number from 0 to 1000 (got -1)',
      "a",
    );
    expect(() => workflow("w", "v1").step("a", id, { timeout: "soon" })).toThrow('step "a": timeout');
    expect(() => workflow("w", "").step("a", id)).toThrow('version "" of workflow "w" is not valid');
  });
  test("the same version loaded twice with different code is refused", () => {
    const registry = new WorkflowRegistry();
    registry.add(workflow("w", "v1").step("a", (x: unknown) => x));
    expect(() => registry.add(workflow("w", "v1").step("a", (x: unknown) => [x]))).toThrow(
      'workflow "w" version "v1" was loaded twice with different steps or code: give one of them a new version',
    );
  });
});

describe("dag", () => {
  const dag = buildDag("p", [
    { name: "fetch", after: [] },
    { name: "enrich", after: ["fetch"] },
    { name: "validate", after: ["enrich"] },
    { name: "n1", after: ["enrich"] },
    { name: "finish", after: ["validate", "n1"] },
    { name: "audit", after: ["fetch"] },
  ]);
  test("topological order, roots and sinks", () => {
    expect({ order: dag.order, roots: dag.roots, sinks: dag.sinks }).toEqual({
      order: ["fetch", "enrich", "audit", "validate", "n1", "finish"],
      roots: ["fetch"],
      sinks: ["finish", "audit"],
    });
  });
  test("downstream of a step includes itself and everything after it", () => {
    expect([...downstreamOf(dag, "enrich")].sort()).toEqual(["enrich", "finish", "n1", "validate"]);
  });
  test("latest version is the highest in natural order", () => {
    const registry = new WorkflowRegistry();
    for (const v of ["v2", "v10", "v9"]) registry.add(workflow("w", v).step("a", id));
    expect(registry.latest("w")?.version).toBe("v10");
  });
});
