// `npm run chaos [-- --short|--long] [--scenario N]… [--soak-minutes N] [--no-write] [--out FILE]`
// Runs the reliability scenarios of issue 8 against real processes and a throwaway PostgreSQL,
// prints a result table and writes docs/reliability.md. Exits 1 when a scenario fails.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Profile, profiles } from "./profiles.ts";
import { printResults, writeReport } from "./report.ts";
import type { ScenarioResult } from "./result.ts";
import { badInputScenario } from "./scenarios/bad-input.ts";
import { killScenario } from "./scenarios/kill.ts";
import { leaderScenario } from "./scenarios/leader.ts";
import { pgRestartScenario } from "./scenarios/pg-restart.ts";
import { sigtermScenario } from "./scenarios/sigterm.ts";
import { soakScenario } from "./scenarios/soak.ts";

const SCENARIOS: Record<number, (p: Profile) => Promise<ScenarioResult>> = {
  1: (p) => killScenario(p.kill, p.name),
  2: (p) => pgRestartScenario(p.pgRestart, p.name),
  3: (p) => leaderScenario(p.leader, p.name),
  4: (p) => sigtermScenario(p.sigterm, p.name),
  5: (p) => badInputScenario(p.fuzz, p.name),
  6: (p) => soakScenario(p.soak, p.name),
};

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    short: { type: "boolean" },
    long: { type: "boolean" },
    scenario: { type: "string", multiple: true },
    "soak-minutes": { type: "string" },
    "soak-retention": { type: "string" },
    "no-write": { type: "boolean" },
    out: { type: "string" },
    render: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  console.log(`usage: npm run chaos -- [--short|--long] [--scenario N]... [--soak-minutes N] [--no-write] [--out FILE]

  (default)   scenarios 1-5 at full size (2,000 runs under SIGKILL, ...)
  --short     scenarios 1-5 at the CI sizes (about two minutes); does not write the report unless --out
  --long      scenarios 1-6: full sizes plus the 30-minute soak
  --scenario  run only these (1 SIGKILL, 2 PostgreSQL restart, 3 leader kill + cron, 4 SIGTERM, 5 bad input, 6 soak)
  --soak-minutes N   length of the soak (default 30)
  --soak-retention D KRONOS_RETENTION during the soak (default 3m)
  --out FILE  where to write the report (default docs/reliability.md)
  --render    rewrite the report from the results stored in it, running nothing`);
  process.exit(0);
}

if (values.render) {
  const file = resolve(import.meta.dir, "../..", values.out ?? "docs/reliability.md");
  writeReport(file, []);
  console.log(`rewrote ${file}`);
  process.exit(0);
}

const profile: Profile = structuredClone(values.short ? profiles.ci : values.long ? profiles.long : profiles.full);
if (values["soak-minutes"]) profile.soak.minutes = Number(values["soak-minutes"]);
if (values["soak-retention"]) profile.soak.retention = values["soak-retention"];
const chosen =
  values.scenario?.flatMap((s) => s.split(",")).map(Number) ?? (values.long ? [1, 2, 3, 4, 5, 6] : [1, 2, 3, 4, 5]);
for (const n of chosen) {
  if (!SCENARIOS[n]) {
    console.error(`unknown scenario ${n}: use 1 to 6`);
    process.exit(2);
  }
}

const results: ScenarioResult[] = [];
for (const n of chosen) {
  console.log(`\n== scenario ${n} (${profile.name})`);
  const run = SCENARIOS[n] as (p: Profile) => Promise<ScenarioResult>;
  try {
    results.push(await run(profile));
  } catch (error) {
    results.push({
      id: n,
      title: `scenario ${n}`,
      profile: profile.name,
      passed: false,
      failures: [`the scenario itself failed: ${error instanceof Error ? error.stack : String(error)}`],
      figures: [],
      notes: [],
      seconds: 0,
      at: new Date().toISOString(),
    });
  }
  printResults(results.slice(-1));
}
printResults(results);

const write = !values["no-write"] && (values.out !== undefined || !values.short);
if (write) {
  const file = resolve(import.meta.dir, "../..", values.out ?? "docs/reliability.md");
  writeReport(file, results);
  console.log(`\nwrote ${file}`);
}
process.exit(results.every((r) => r.passed) ? 0 : 1);
