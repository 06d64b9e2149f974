import { DefinitionError } from "../errors.ts";

/** The structure of a workflow: step names and what each runs after. */
export interface DagNode {
  readonly name: string;
  readonly after: readonly string[];
}

/** A validated DAG with the lookups the engine needs, computed once. */
export interface Dag {
  readonly order: readonly string[];
  readonly roots: readonly string[];
  readonly sinks: readonly string[];
  readonly after: ReadonlyMap<string, readonly string[]>;
  readonly before: ReadonlyMap<string, readonly string[]>;
}

/**
 * Checks a workflow's steps (not empty, unique names, known dependencies, no cycle) and returns
 * them in topological order (declaration order among ready steps). Errors name the step.
 */
export function buildDag(workflow: string, nodes: readonly DagNode[]): Dag {
  if (nodes.length === 0) {
    throw new DefinitionError(workflow, undefined, `workflow "${workflow}" has no steps: add one with .step(name, fn)`);
  }
  const after = new Map<string, readonly string[]>();
  for (const n of nodes) {
    if (after.has(n.name)) {
      throw new DefinitionError(workflow, n.name, `workflow "${workflow}" has two steps named "${n.name}"`);
    }
    after.set(n.name, n.after);
  }
  const before = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  for (const n of nodes) {
    const seen = new Set<string>();
    for (const dep of n.after) {
      if (!after.has(dep)) {
        throw new DefinitionError(
          workflow,
          n.name,
          `step "${n.name}" of workflow "${workflow}" runs after "${dep}", which is not a step (steps: ${[...after.keys()].join(", ")})`,
        );
      }
      if (dep === n.name) throw new DefinitionError(workflow, n.name, `step "${n.name}" cannot run after itself`);
      if (seen.has(dep)) throw new DefinitionError(workflow, n.name, `step "${n.name}" lists "${dep}" twice in after`);
      seen.add(dep);
      before.get(dep)?.push(n.name);
    }
  }
  // Kahn's algorithm; what is left over sits on a cycle.
  const left = new Map(nodes.map((n) => [n.name, n.after.length]));
  const order: string[] = [];
  let ready = nodes.filter((n) => n.after.length === 0).map((n) => n.name);
  while (ready.length > 0) {
    order.push(...ready);
    const next: string[] = [];
    for (const name of ready) {
      for (const child of before.get(name) ?? []) {
        const n = (left.get(child) ?? 0) - 1;
        left.set(child, n);
        if (n === 0) next.push(child);
      }
    }
    ready = next;
  }
  if (order.length < nodes.length) {
    const cycle = findCycle(
      nodes.filter((n) => !order.includes(n.name)),
      after,
    );
    throw new DefinitionError(workflow, cycle[0], `workflow "${workflow}" has a cycle: ${cycle.join(" -> ")}`);
  }
  return {
    order,
    roots: nodes.filter((n) => n.after.length === 0).map((n) => n.name),
    sinks: nodes.filter((n) => (before.get(n.name) ?? []).length === 0).map((n) => n.name),
    after,
    before,
  };
}

function findCycle(stuck: readonly DagNode[], after: ReadonlyMap<string, readonly string[]>): string[] {
  const stuckNames = new Set(stuck.map((n) => n.name));
  const start = stuck[0]?.name ?? "";
  const path: string[] = [start];
  const seenAt = new Map([[start, 0]]);
  let current = start;
  for (;;) {
    const next = (after.get(current) ?? []).find((d) => stuckNames.has(d)) ?? start;
    const at = seenAt.get(next);
    if (at !== undefined) return [...path.slice(at), next].reverse();
    seenAt.set(next, path.length);
    path.push(next);
    current = next;
  }
}

/** `step` and every step that depends on it, directly or not. */
export function downstreamOf(dag: Dag, step: string): Set<string> {
  const found = new Set<string>([step]);
  const queue = [step];
  while (queue.length > 0) {
    for (const child of dag.before.get(queue.pop() as string) ?? []) {
      if (!found.has(child)) {
        found.add(child);
        queue.push(child);
      }
    }
  }
  return found;
}
