import { parseDuration } from "../config/parse.ts";
import { DefinitionError } from "../errors.ts";

/** What a step function gets besides its input. */
export interface StepContext {
  readonly runId: string;
  readonly step: string;
  /** 1 on the first try, 2 on the first retry, … */
  readonly attempt: number;
  /** Fires when the run is cancelled, the step times out, or the node shuts down. */
  readonly signal: AbortSignal;
}

export type StepFn<I, O> = (input: I, ctx: StepContext) => O | Promise<O>;

export interface StepOptions<D extends readonly string[]> {
  /** Steps whose outputs this one needs; it runs when all of them have completed. */
  after?: D;
  /** Retries after the first attempt (default 3); backoff comes from the queue. */
  retries?: number;
  /** Time limit of one attempt: "30s", "5m", or milliseconds. */
  timeout?: string | number;
}

/**
 * The input a step receives: the run input for a root, the output of its single dependency, or
 * an object keyed by dependency name when it has several.
 */
export type StepInput<RunInput, Steps, D extends readonly string[]> = D extends readonly []
  ? RunInput
  : D extends readonly [infer Only extends keyof Steps]
    ? Steps[Only]
    : { [K in D[number] & keyof Steps]: Steps[K] };

export interface StepDefinition {
  readonly name: string;
  readonly after: readonly string[];
  readonly retries: number;
  readonly timeoutMs: number | undefined;
  readonly fn: StepFn<unknown, unknown>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function checkName(workflow: string, kind: "workflow" | "step", name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    const shown = typeof name === "string" ? `"${name}"` : String(name);
    throw new DefinitionError(
      workflow,
      kind === "step" ? String(name) : undefined,
      `${kind} name ${shown} is not valid: use 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return name;
}

/**
 * A workflow definition under construction; each `.step()` returns a new, larger definition whose
 * type knows every step's output, so a step's input is checked against its dependencies.
 *
 * @example
 * const pipeline = workflow<{ userId: string }>("data-pipeline", "v1")
 *   .step("fetch-user", async ({ userId }) => ({ userId, name: "Ada" }))
 *   .step("greet", (user) => `hello ${user.name}`, { after: ["fetch-user"] });
 */
export class Workflow<RunInput = unknown, Steps extends Record<string, unknown> = Record<never, never>> {
  /** Present only in the type, to carry the run input type. */
  declare readonly __input?: RunInput;

  private constructor(
    readonly name: string,
    readonly version: string,
    readonly steps: readonly StepDefinition[],
  ) {}

  /** @internal use `workflow()` */
  static create<I>(name: string, version: string): Workflow<I> {
    checkName(String(name), "workflow", name);
    if (typeof version !== "string" || !NAME.test(version)) {
      throw new DefinitionError(
        String(name),
        undefined,
        `version "${String(version)}" of workflow "${name}" is not valid: use e.g. "v1" or "2024-06-01"`,
      );
    }
    return new Workflow<I>(name, version, []);
  }

  step<const N extends string, O, const D extends readonly (keyof Steps & string)[] = readonly []>(
    name: N & (N extends keyof Steps ? "a step of this name already exists" : unknown),
    fn: StepFn<StepInput<RunInput, Steps, D>, O>,
    options?: StepOptions<D>,
  ): Workflow<RunInput, Steps & { [K in N]: Awaited<O> }> {
    checkName(this.name, "step", name);
    if (typeof fn !== "function") {
      throw new DefinitionError(this.name, name, `step "${name}" of workflow "${this.name}" needs a function`);
    }
    const retries = options?.retries ?? 3;
    if (!Number.isInteger(retries) || retries < 0 || retries > 1000) {
      throw new DefinitionError(
        this.name,
        name,
        `step "${name}": retries must be a whole number from 0 to 1000 (got ${retries})`,
      );
    }
    let timeoutMs: number | undefined;
    if (options?.timeout !== undefined) {
      try {
        timeoutMs = typeof options.timeout === "number" ? options.timeout : parseDuration(options.timeout);
      } catch (error) {
        throw new DefinitionError(this.name, name, `step "${name}": timeout ${(error as Error).message}`);
      }
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
        throw new DefinitionError(this.name, name, `step "${name}": timeout must be positive (got ${options.timeout})`);
      }
    }
    const def: StepDefinition = {
      name,
      after: [...(options?.after ?? [])],
      retries,
      timeoutMs,
      fn: fn as StepFn<unknown, unknown>,
    };
    return new Workflow(this.name, this.version, [...this.steps, def]);
  }
}

/** Starts a workflow definition; `RunInput` is the type of the input its runs start with. */
export function workflow<RunInput = unknown>(name: string, version: string): Workflow<RunInput> {
  return Workflow.create<RunInput>(name, version);
}

/** Any workflow, whatever its types (registries hold these). */
// biome-ignore lint/suspicious/noExplicitAny: the registry stores workflows of every input and step type
export type AnyWorkflow = Workflow<any, any>;
