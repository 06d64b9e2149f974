import pkg from "../../package.json" with { type: "json" };

/** Set at build time by scripts/build.ts (`--define`); "dev" when run from source. */
declare const KRONOS_COMMIT: string | undefined;

export function versionInfo(): { version: string; commit: string; bun: string } {
  const commit = typeof KRONOS_COMMIT === "string" ? KRONOS_COMMIT : "dev";
  return { version: pkg.version, commit, bun: Bun.version };
}

export function versionCommand(): number {
  const v = versionInfo();
  console.log(`kronos ${v.version} (commit ${v.commit}, bun ${v.bun})`);
  return 0;
}
