// A scenario's outcome: pass/fail with the reasons, and its figures in the order they are shown.
import type { RunAudit } from "./invariants.ts";

export type Figure = [label: string, value: string | number];

export interface ScenarioResult {
  id: number;
  title: string;
  /** ci, full or long. */
  profile: string;
  passed: boolean;
  failures: string[];
  figures: Figure[];
  /** Remarks for the report (what was measured and how). */
  notes: string[];
  /** Time series (soak): one object per sample. */
  series?: Record<string, number | string>[];
  seconds: number;
  /** ISO time the scenario finished. */
  at: string;
}

/** Collects failures and figures while a scenario runs. */
export class Outcome {
  readonly failures: string[] = [];
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];
  series?: Record<string, number | string>[];
  readonly #t0 = performance.now();

  constructor(
    readonly id: number,
    readonly title: string,
    readonly profile: string,
  ) {}

  figure(label: string, value: string | number): void {
    this.figures.push([label, value]);
  }

  fail(reason: string): void {
    this.failures.push(reason);
  }

  /** Fails unless `ok`. */
  check(ok: boolean, reason: string): void {
    if (!ok) this.fail(reason);
  }

  /** Every invariant of the run audit as a failure when broken. */
  audit(a: RunAudit): void {
    for (const p of a.problems) this.fail(p);
  }

  crashes(list: readonly { nodeId: string; code: number; tail: string[] }[]): void {
    for (const c of list) this.fail(`node ${c.nodeId} exited by itself with code ${c.code}: ${c.tail.join(" | ")}`);
  }

  done(): ScenarioResult {
    return {
      id: this.id,
      title: this.title,
      profile: this.profile,
      passed: this.failures.length === 0,
      failures: this.failures,
      figures: this.figures,
      notes: this.notes,
      series: this.series,
      seconds: Math.round((performance.now() - this.#t0) / 100) / 10,
      at: new Date().toISOString(),
    };
  }
}

/** The p-th percentile (0..100) of `values` (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const mean = (values: readonly number[]) =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;

/** Milliseconds for a person: 850 ms, 2.4 s. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
}

export const pct = (part: number, whole: number) => (whole === 0 ? "0%" : `${((100 * part) / whole).toFixed(2)}%`);
