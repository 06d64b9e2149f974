import type { StepDefinition } from "./define.ts";

/** The structure of a definition as stored and compared: steps with their dependencies and limits. */
export interface DagShape {
  steps: { name: string; after: string[]; retries: number; timeoutMs: number | null }[];
}

export function dagShape(steps: readonly StepDefinition[]): DagShape {
  return {
    steps: steps.map((s) => ({
      name: s.name,
      after: [...s.after],
      retries: s.retries,
      timeoutMs: s.timeoutMs ?? null,
    })),
  };
}

/**
 * sha256 of the structure and every step function's source: the same version loaded with other
 * code gets another fingerprint, which is how a silent change under one version is caught.
 */
export function fingerprint(steps: readonly StepDefinition[]): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(JSON.stringify(dagShape(steps)));
  for (const s of steps) hasher.update(`\0${s.name}\0${s.fn.toString()}`);
  return hasher.digest("hex");
}
