import type { Queryable } from "../db/index.ts";
import { DefinitionError } from "../errors.ts";
import * as definitions from "../store/definitions.ts";
import { buildDag, type Dag } from "./dag.ts";
import type { AnyWorkflow, StepDefinition } from "./define.ts";
import { type DagShape, dagShape, fingerprint } from "./fingerprint.ts";

/** A workflow definition this process loaded: validated, fingerprinted, and (after sync) stored. */
export interface LoadedDefinition {
  /** Row id in kronos_definitions; 0 until `sync`. */
  id: number;
  readonly name: string;
  readonly version: string;
  readonly fingerprint: string;
  readonly shape: DagShape;
  readonly dag: Dag;
  readonly steps: ReadonlyMap<string, StepDefinition>;
}

/** Orders versions naturally: v2 < v10, 2024-01-02 < 2024-11-01. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/**
 * The workflow definitions loaded in this process, by name and version. New runs use the highest
 * version of a name; runs in flight keep the exact definition (fingerprint) they started with.
 */
export class WorkflowRegistry {
  readonly #byKey = new Map<string, LoadedDefinition>();
  readonly #byId = new Map<number, LoadedDefinition>();

  /** Validates and adds a definition; loading the same one twice is harmless. */
  add(wf: AnyWorkflow): LoadedDefinition {
    const dag = buildDag(wf.name, wf.steps);
    const loaded: LoadedDefinition = {
      id: 0,
      name: wf.name,
      version: wf.version,
      fingerprint: fingerprint(wf.steps),
      shape: dagShape(wf.steps),
      dag,
      steps: new Map(wf.steps.map((s) => [s.name, s])),
    };
    const key = `${wf.name}@${wf.version}`;
    const existing = this.#byKey.get(key);
    if (existing) {
      if (existing.fingerprint === loaded.fingerprint) return existing;
      throw new DefinitionError(
        wf.name,
        undefined,
        `workflow "${wf.name}" version "${wf.version}" was loaded twice with different steps or code: give one of them a new version`,
      );
    }
    this.#byKey.set(key, loaded);
    return loaded;
  }

  /**
   * Stores every loaded definition and learns its id. Returns warnings for versions whose code
   * changed without a new version (runs started on the old code need a node that still has it).
   */
  async sync(db: Queryable): Promise<string[]> {
    const warnings: string[] = [];
    for (const def of this.#byKey.values()) {
      if (def.id) continue;
      const row = await definitions.upsert(db, {
        name: def.name,
        version: def.version,
        fingerprint: def.fingerprint,
        dag: def.shape,
      });
      def.id = row.id;
      this.#byId.set(row.id, def);
      const others = await definitions.otherFingerprints(db, def);
      if (others.length > 0) {
        warnings.push(
          `workflow "${def.name}" version "${def.version}" changed without a new version: fingerprint ${def.fingerprint.slice(0, 12)} ` +
            `differs from ${others.map((o) => o.fingerprint.slice(0, 12)).join(", ")} stored earlier. Runs started on the earlier code ` +
            `only run on nodes that still load it; bump the version whenever step code changes.`,
        );
      }
    }
    return warnings;
  }

  byId(id: number): LoadedDefinition | undefined {
    return this.#byId.get(id);
  }

  get(name: string, version: string): LoadedDefinition | undefined {
    return this.#byKey.get(`${name}@${version}`);
  }

  /** The highest loaded version of `name`. */
  latest(name: string): LoadedDefinition | undefined {
    let best: LoadedDefinition | undefined;
    for (const def of this.#byKey.values()) {
      if (def.name === name && (!best || compareVersions(def.version, best.version) > 0)) best = def;
    }
    return best;
  }

  list(): LoadedDefinition[] {
    return [...this.#byKey.values()].sort(
      (a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version),
    );
  }

  names(): string[] {
    return [...new Set(this.list().map((d) => d.name))];
  }
}
