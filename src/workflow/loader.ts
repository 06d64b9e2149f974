import { existsSync, readdirSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidArgumentError } from "../errors.ts";
import { CronDefinition, JobDefinition } from "../queue/define.ts";
import type { AnyWorkflow } from "./define.ts";
import { Workflow } from "./define.ts";

/** What a loaded module declares: workflows, job handlers and recurring jobs. */
export interface LoadedModule {
  file: string;
  workflows: AnyWorkflow[];
  jobs: JobDefinition[];
  crons: CronDefinition[];
}

const MODULE_EXTENSIONS = new Set([".ts", ".mts", ".js", ".mjs", ".tsx", ".jsx"]);

let pluginInstalled = false;

/**
 * Makes `import … from "kronos"` inside user files resolve to this very process's library, so a
 * workflow file needs no `npm install` and shares the running engine's classes.
 */
export async function provideKronosModule(): Promise<void> {
  if (pluginInstalled) return;
  pluginInstalled = true;
  const library = await import("../index.ts");
  Bun.plugin({
    name: "kronos-self",
    setup(build) {
      build.module("kronos", () => ({ exports: { ...library }, loader: "object" }));
    },
  });
}

function isWorkflow(value: unknown): value is AnyWorkflow {
  return value instanceof Workflow;
}

/** Files a --workflows path stands for: the file itself, or every module directly in a folder. */
export function workflowFiles(path: string): string[] {
  const full = resolve(path);
  if (!existsSync(full)) throw new InvalidArgumentError("--workflows", `--workflows ${path}: no such file or folder`);
  if (!statSync(full).isDirectory()) return [full];
  return readdirSync(full)
    .filter((f) => MODULE_EXTENSIONS.has(extname(f)) && !f.endsWith(".d.ts") && !/\.(test|spec)\./.test(f))
    .sort()
    .map((f) => join(full, f));
}

/** Imports workflow files and returns every workflow, job and cron definition they export. */
export async function loadWorkflowModules(paths: readonly string[]): Promise<LoadedModule[]> {
  await provideKronosModule();
  const loaded: LoadedModule[] = [];
  for (const file of paths.flatMap(workflowFiles)) {
    let mod: Record<string, unknown>;
    try {
      mod = await import(pathToFileURL(file).href);
    } catch (error) {
      throw new InvalidArgumentError("--workflows", `could not load ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const values = Object.values(mod);
    loaded.push({
      file,
      workflows: values.filter(isWorkflow),
      jobs: values.filter((v): v is JobDefinition => v instanceof JobDefinition),
      crons: values.filter((v): v is CronDefinition => v instanceof CronDefinition),
    });
  }
  return loaded;
}
