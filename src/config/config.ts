import { KronosError } from "../errors.ts";
import {
  type Address,
  durationWithin,
  formatSize,
  parseAddress,
  parseChoice,
  parseDuration,
  parseInteger,
  parseSize,
  quote,
} from "./parse.ts";

/** How much a log line must matter to be written. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** One JSON object a line, or human-readable text. */
export type LogFormat = "json" | "text";

/**
 * Everything `kronos serve` can be told, validated and frozen. Durations are milliseconds and
 * sizes bytes (the unit is in the name); `null` means a feature is switched off.
 */
export interface Config {
  /** PostgreSQL server to use; undefined keeps data in embedded PGlite under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Where embedded PGlite keeps its files (unused with `databaseUrl`). */
  readonly dataDir: string;
  /** gRPC (h2c) listener. */
  readonly grpcAddr: Address;
  /** HTTP listener: Connect, gRPC-web, debugger UI, dead-letter admin. */
  readonly adminAddr: Address;
  /** Prometheus listener; null when switched off. */
  readonly metricsAddr: Address | null;
  /** Jobs one process runs at once. */
  readonly workerConcurrency: number;
  /** How often the scheduler looks for due jobs when no notification arrives. */
  readonly pollIntervalMs: number;
  /** Most jobs claimed in one query. */
  readonly batchSize: number;
  /** Longest a job may run when it sets no timeout of its own. */
  readonly jobTimeoutMs: number;
  /** How long a claimed job stays with its worker before another may take it. */
  readonly leaseMs: number;
  /** How long shutdown waits for running jobs before handing them back. */
  readonly shutdownGraceMs: number;
  /** How often a follower tries to become leader and the leader checks its lock. */
  readonly leaderCheckMs: number;
  /** Age after which finished runs and jobs are deleted; null keeps them for ever. */
  readonly retentionMs: number | null;
  /** Bearer token the API and UI require; undefined leaves them open. */
  readonly apiToken: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Largest request body the API accepts. */
  readonly maxRequestBytes: number;
  /** Name of this process in leader election and logs; undefined lets the server make one up. */
  readonly nodeId: string | undefined;
}

/** A setting as documentation: what `configHelp()` prints and `kronos serve` accepts as flags. */
export interface SettingInfo {
  /** The field of `Config` it sets. */
  readonly key: keyof Config;
  readonly env: string;
  /** Flag name without the leading dashes. */
  readonly flag: string;
  /** What the value looks like, for help text: `duration`, `size`, `address`… */
  readonly kind: string;
  /** The default as one would write it; undefined when unset means "not set". */
  readonly default: string | undefined;
  /** What the default means when there is none to show (e.g. "embedded PGlite"). */
  readonly unsetMeans?: string;
  readonly description: string;
}

interface Setting<T> extends Omit<SettingInfo, "key"> {
  parse(text: string): T;
  /** Whether an empty value is an error rather than "not set" (fail closed for secrets). */
  readonly emptyIsError?: boolean;
}

/**
 * A bad setting: the message names the variable (and the flag, if the value came from one) and
 * how to fix it. `kronos serve` prints it and exits.
 */
export class ConfigError extends KronosError {
  constructor(
    message: string,
    /** The environment variable of the setting, even when the value came from its flag. */
    readonly variable: string,
    /** The flag (with dashes) when the bad value came from one. */
    readonly flag?: string,
    options?: { cause?: unknown },
  ) {
    super("invalid_argument", message, options);
  }
}

const TIMER_MAX_MS = 24 * 86_400_000; // setTimeout overflows past 2^31-1 ms (~24.8 days) and fires at once
const duration = (min: number, max: number) => (text: string) => durationWithin(text, parseDuration(text), min, max);
const orOff =
  <T>(parse: (text: string) => T) =>
  (text: string): T | null =>
    text.trim().toLowerCase() === "off" ? null : parse(text);

function postgresUrl(text: string): string {
  // The URL may hold a password: messages never repeat it.
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error("not a URL (use e.g. postgres://user:password@localhost:5432/kronos)");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new Error(`scheme ${quote(url.protocol)} is not postgres:// or postgresql://`);
  }
  return text.trim();
}

function apiToken(text: string): string {
  // A secret: messages never repeat it, and start after "KRONOS_API_TOKEN: ".
  if (text.length === 0)
    throw new Error("empty; unset it to leave the API open, or set a token of at least 16 characters");
  if (/\s/.test(text)) throw new Error("has whitespace, which cannot travel in an Authorization header");
  if (text.length < 16) throw new Error(`${text.length} characters long; use at least 16`);
  return text;
}

function nonEmpty(what: string, pattern: RegExp, max: number) {
  return (text: string): string => {
    const value = text.trim();
    if (!pattern.test(value)) throw new Error(`${quote(text)} is not ${what}`);
    if (value.length > max) throw new Error(`${quote(text)} is longer than ${max} characters`);
    return value;
  };
}

function size(min: number, max: number) {
  return (text: string): number => {
    const bytes = parseSize(text);
    if (bytes < min || bytes > max)
      throw new Error(`${quote(text)} is out of range (must be between ${formatSize(min)} and ${formatSize(max)})`);
    return bytes;
  };
}

const table: { readonly [K in keyof Config]: Setting<Config[K]> } = {
  databaseUrl: {
    env: "DATABASE_URL",
    flag: "database-url",
    kind: "url",
    default: undefined,
    unsetMeans: "embedded PGlite",
    description: "PostgreSQL server (postgres://…); unset keeps data in embedded PGlite",
    parse: postgresUrl,
  },
  dataDir: {
    env: "KRONOS_DATA_DIR",
    flag: "data-dir",
    kind: "path",
    default: "./.kronos/data",
    description: "Directory of the embedded database (ignored with DATABASE_URL)",
    parse: nonEmpty("a path", /^[^\0]+$/, 4096),
  },
  grpcAddr: {
    env: "GRPC_ADDR",
    flag: "grpc-addr",
    kind: "address",
    default: ":50051",
    description: "gRPC (h2c) listen address",
    parse: parseAddress,
  },
  adminAddr: {
    env: "ADMIN_ADDR",
    flag: "admin-addr",
    kind: "address",
    default: ":8080",
    description: "HTTP listen address: Connect, gRPC-web, debugger UI, dead-letter admin",
    parse: parseAddress,
  },
  metricsAddr: {
    env: "METRICS_ADDR",
    flag: "metrics-addr",
    kind: "address|off",
    default: ":2112",
    description: "Prometheus /metrics listen address, or off",
    parse: orOff(parseAddress),
  },
  workerConcurrency: {
    env: "WORKER_CONCURRENCY",
    flag: "concurrency",
    kind: "1..10000",
    default: "10",
    description: "Jobs this process runs at once",
    parse: (text) => parseInteger(text, 1, 10_000),
  },
  pollIntervalMs: {
    env: "SCHEDULER_POLL_INTERVAL",
    flag: "poll-interval",
    kind: "duration",
    default: "2s",
    description: "How often to look for due jobs when no notification arrives (10ms..1h)",
    parse: duration(10, 3_600_000),
  },
  batchSize: {
    env: "SCHEDULER_BATCH_SIZE",
    flag: "batch-size",
    kind: "1..1000",
    default: "10",
    description: "Most jobs claimed in one query",
    parse: (text) => parseInteger(text, 1, 1_000),
  },
  jobTimeoutMs: {
    env: "JOB_TIMEOUT",
    flag: "job-timeout",
    kind: "duration",
    default: "30m",
    description: "Longest a step or job may run unless it sets its own timeout (1ms..24d)",
    parse: duration(1, TIMER_MAX_MS),
  },
  leaseMs: {
    env: "KRONOS_LEASE",
    flag: "lease",
    kind: "duration",
    default: "30s",
    description: "How long a claimed job stays with its worker before another may take it (1s..1h)",
    parse: duration(1_000, 3_600_000),
  },
  shutdownGraceMs: {
    env: "KRONOS_SHUTDOWN_GRACE",
    flag: "shutdown-grace",
    kind: "duration",
    default: "10s",
    description: "How long shutdown waits for running jobs before handing them back (0s..1h)",
    parse: duration(0, 3_600_000),
  },
  leaderCheckMs: {
    env: "KRONOS_LEADER_CHECK",
    flag: "leader-check",
    kind: "duration",
    default: "1s",
    description: "How often a follower tries to lead and the leader checks its lock (10ms..1h)",
    parse: duration(10, 3_600_000),
  },
  retentionMs: {
    env: "KRONOS_RETENTION",
    flag: "retention",
    kind: "duration|off",
    default: "7d",
    description: "Delete finished runs and jobs older than this (1s..3650d), or off",
    parse: orOff(duration(1_000, 3_650 * 86_400_000)),
  },
  apiToken: {
    env: "KRONOS_API_TOKEN",
    flag: "api-token",
    kind: "secret",
    default: undefined,
    unsetMeans: "no authentication",
    description: "Bearer token the API and UI require (at least 16 characters)",
    parse: apiToken,
    emptyIsError: true,
  },
  logLevel: {
    env: "KRONOS_LOG_LEVEL",
    flag: "log-level",
    kind: "level",
    default: "info",
    description: "Least important log lines written: debug, info, warn or error",
    parse: (text) => parseChoice(text, ["debug", "info", "warn", "error"]),
  },
  logFormat: {
    env: "KRONOS_LOG_FORMAT",
    flag: "log-format",
    kind: "format",
    default: "json",
    description: "Log lines as json (one object a line) or text (for people)",
    parse: (text) => parseChoice(text, ["json", "text"]),
  },
  maxRequestBytes: {
    env: "KRONOS_MAX_REQUEST_BYTES",
    flag: "max-request-bytes",
    kind: "size",
    default: "4MiB",
    description: "Largest API request body (1KiB..1GiB; KB = 1000, KiB = 1024)",
    parse: size(1_024, 1_073_741_824),
  },
  nodeId: {
    env: "KRONOS_NODE_ID",
    flag: "node-id",
    kind: "string",
    default: undefined,
    unsetMeans: "generated at start-up",
    description: "Name of this process in leader election and logs",
    parse: nonEmpty("a name without spaces", /^[\x21-\x7e]+$/, 128),
  },
};

const keys = Object.keys(table) as (keyof Config)[];

/** Every setting in the order of `configHelp()`, as data (for flag parsing and docs). */
export const settings: readonly SettingInfo[] = Object.freeze(
  keys.map((key) => {
    const { parse: _parse, emptyIsError: _empty, ...info } = table[key] as Setting<unknown>;
    return Object.freeze({ key, ...info });
  }),
);

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Listeners on one port would fail at bind time with a less helpful message: say it now. */
function checkPorts(config: Config, fromFlag: ReadonlySet<keyof Config>): void {
  const listeners = (["grpcAddr", "adminAddr", "metricsAddr"] as const).filter((k) => config[k] !== null);
  const wildcard = (host: string) => host === "0.0.0.0" || host === "::" || host === "";
  for (const [i, a] of listeners.entries()) {
    for (const b of listeners.slice(i + 1)) {
      const x = config[a] as Address;
      const y = config[b] as Address;
      if (x.port === 0 || x.port !== y.port) continue;
      if (x.host !== y.host && !wildcard(x.host) && !wildcard(y.host)) continue;
      const { env, flag } = table[b];
      const viaFlag = fromFlag.has(b);
      throw new ConfigError(
        `${viaFlag ? `--${flag} (${env})` : env}: port ${y.port} is already taken by ${table[a].env}; give each listener its own port`,
        env,
        viaFlag ? `--${flag}` : undefined,
      );
    }
  }
}

/**
 * Reads every setting from flags (first) or the environment, checks it and returns one frozen
 * Config. Throws `ConfigError` at the first bad value. Empty values count as unset. Flag names may
 * be given with or without their dashes; flags that are not settings are ignored.
 * @example
 * const config = loadConfig({ env: process.env, flags: { "poll-interval": "500ms" } });
 * config.pollIntervalMs; // 500
 */
export function loadConfig(
  args: { env?: Record<string, string | undefined>; flags?: Record<string, string | undefined> } = {},
): Config {
  const env = args.env ?? process.env;
  const flags = new Map(Object.entries(args.flags ?? {}).map(([name, value]) => [name.replace(/^--?/, ""), value]));
  const fromFlag = new Set<keyof Config>();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const setting = table[key] as Setting<unknown>;
    const flagValue = flags.get(setting.flag);
    const viaFlag = flagValue !== undefined;
    const raw = viaFlag ? flagValue : env[setting.env];
    const label = viaFlag ? `--${setting.flag} (${setting.env})` : setting.env;
    if (viaFlag) fromFlag.add(key);
    // `FOO=` in an env file means "not set", except for a secret, where it must not turn auth off.
    const blank = raw !== undefined && raw.trim() === "" && !setting.emptyIsError;
    const text = (blank ? undefined : raw) ?? setting.default;
    if (text === undefined) {
      out[key] = undefined;
      continue;
    }
    try {
      out[key] = setting.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError(`${label}: ${reason}`, setting.env, viaFlag ? `--${setting.flag}` : undefined, {
        cause: error,
      });
    }
  }
  const config = out as unknown as Config;
  checkPorts(config, fromFlag);
  return deepFreeze(config);
}

/**
 * The settings as a help text for `kronos serve --help`: flag, variable, default, description.
 * @example console.log(configHelp());
 */
export function configHelp(): string {
  const rows = settings.map((s) => ({
    left: `--${s.flag} <${s.kind}>`,
    env: s.env,
    def: s.default !== undefined ? `default ${s.default}` : `default: ${s.unsetMeans ?? "unset"}`,
    description: s.description,
  }));
  const width = Math.max(...rows.map((r) => r.left.length));
  const envWidth = Math.max(...rows.map((r) => r.env.length));
  const lines = rows.map(
    (r) => `  ${r.left.padEnd(width)}  ${r.env.padEnd(envWidth)}  ${r.def}\n  ${" ".repeat(width + 2)}${r.description}`,
  );
  return [
    "Settings (a flag wins over its environment variable):",
    "",
    ...lines,
    "",
    `Durations: 500ms, 2s, 5m, 1h, 7d or compounds like 1m30s. Sizes: 65536, 512KiB, 4MiB, 1MB.`,
    `Addresses: host:port or :port (all interfaces); port 0 picks a free port.`,
  ].join("\n");
}

/**
 * The config for a start-up log line, with the token and the database password masked.
 * @example log.info("starting", describeConfig(config));
 */
export function describeConfig(config: Config): Record<string, unknown> {
  let databaseUrl = config.databaseUrl ?? "embedded";
  if (config.databaseUrl) {
    const url = new URL(config.databaseUrl);
    if (url.password) url.password = "***";
    databaseUrl = url.toString();
  }
  const address = (a: Address | null) => (a ? `${a.host}:${a.port}` : "off");
  return {
    ...config,
    databaseUrl,
    apiToken: config.apiToken === undefined ? undefined : "***",
    grpcAddr: address(config.grpcAddr),
    adminAddr: address(config.adminAddr),
    metricsAddr: address(config.metricsAddr),
  };
}
