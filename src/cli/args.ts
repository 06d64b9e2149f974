import { parseArgs } from "node:util";

/** A usage mistake on the command line: printed with the command's help, exit code 2. */
export class UsageError extends Error {}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Options besides the config settings (those are listed by configHelp). */
  options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string; help: string }>;
  /** Extra help text after the options. */
  more?: string;
}

export function helpText(spec: CommandSpec): string {
  const lines = [`kronos ${spec.name}: ${spec.summary}`, "", `Usage: ${spec.usage}`, ""];
  const entries = Object.entries(spec.options);
  if (entries.length > 0) {
    lines.push("Options:");
    for (const [name, o] of entries) {
      const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? " <value>" : ""}`;
      lines.push(`  ${flag.padEnd(30)} ${o.help}`);
    }
    lines.push(`  ${"-h, --help".padEnd(30)} show this help`);
  }
  if (spec.more) lines.push("", spec.more);
  return lines.join("\n");
}

/** Parses argv for a command; unknown options are usage errors (strict). */
export function parseCommand(spec: CommandSpec, argv: string[], extra: Record<string, { type: "string" }> = {}) {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {
    help: { type: "boolean", short: "h" },
    ...extra,
  };
  for (const [name, o] of Object.entries(spec.options))
    options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
