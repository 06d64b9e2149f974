import pkg from "../../package.json" with { type: "json" };
import { type CommandSpec, helpText, parseCommand } from "./args.ts";

export const versionSpec: CommandSpec = {
  name: "version",
  summary: "print the version, the commit it was built from and the Bun version",
  usage: "kronos version",
  options: {},
};

/** Set at build time by scripts/build.ts (`--define`); "dev" when run from source. */
declare const KRONOS_COMMIT: string | undefined;

export function versionInfo(): { version: string; commit: string; bun: string } {
  const commit = typeof KRONOS_COMMIT === "string" ? KRONOS_COMMIT : "dev";
  return { version: pkg.version, commit, bun: Bun.version };
}

export function versionCommand(argv: string[] = []): number {
  if (parseCommand(versionSpec, argv).values.help) {
    console.log(helpText(versionSpec));
    return 0;
  }
  const v = versionInfo();
  console.log(`kronos ${v.version} (commit ${v.commit}, bun ${v.bun})`);
  return 0;
}
