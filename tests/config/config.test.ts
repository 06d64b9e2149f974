import { describe, expect, test } from "bun:test";
import {
  type Config,
  ConfigError,
  configHelp,
  describeConfig,
  formatDuration,
  loadConfig,
  parseAddress,
  parseDuration,
  parseSize,
  settings,
} from "../../src/config/index.ts";

const defaults: Config = {
  databaseUrl: undefined,
  dataDir: "./.kronos/data",
  grpcAddr: { host: "0.0.0.0", port: 50051 },
  adminAddr: { host: "0.0.0.0", port: 8080 },
  metricsAddr: { host: "0.0.0.0", port: 2112 },
  workerConcurrency: 10,
  pollIntervalMs: 2_000,
  batchSize: 10,
  jobTimeoutMs: 30 * 60_000,
  leaseMs: 30_000,
  shutdownGraceMs: 10_000,
  leaderCheckMs: 1_000,
  retentionMs: 7 * 86_400_000,
  apiToken: undefined,
  logLevel: "info",
  logFormat: "json",
  maxRequestBytes: 4 * 1_048_576,
  nodeId: undefined,
};

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError, got none");
}

describe("loadConfig", () => {
  test("defaults with an empty environment", () => {
    expect(loadConfig({ env: {}, flags: {} })).toEqual(defaults);
  });

  test("parses every setting from the environment", () => {
    const config = loadConfig({
      env: {
        DATABASE_URL: "postgresql://kronos:pw@db.internal:5432/kronos?sslmode=require",
        KRONOS_DATA_DIR: "/var/lib/kronos",
        GRPC_ADDR: "127.0.0.1:9090",
        ADMIN_ADDR: "[::1]:0",
        METRICS_ADDR: "localhost:9100",
        WORKER_CONCURRENCY: "64",
        SCHEDULER_POLL_INTERVAL: "500ms",
        SCHEDULER_BATCH_SIZE: "100",
        JOB_TIMEOUT: "1h30m",
        KRONOS_LEASE: "1m",
        KRONOS_SHUTDOWN_GRACE: "0s",
        KRONOS_LEADER_CHECK: "250ms",
        KRONOS_RETENTION: "30d",
        KRONOS_API_TOKEN: "0123456789abcdef",
        KRONOS_LOG_LEVEL: "DEBUG",
        KRONOS_LOG_FORMAT: "text",
        KRONOS_MAX_REQUEST_BYTES: "10KB",
        KRONOS_NODE_ID: "node-a",
        UNRELATED: "ignored",
      },
      flags: {},
    });
    expect(config).toEqual({
      databaseUrl: "postgresql://kronos:pw@db.internal:5432/kronos?sslmode=require",
      dataDir: "/var/lib/kronos",
      grpcAddr: { host: "127.0.0.1", port: 9090 },
      adminAddr: { host: "::1", port: 0 },
      metricsAddr: { host: "localhost", port: 9100 },
      workerConcurrency: 64,
      pollIntervalMs: 500,
      batchSize: 100,
      jobTimeoutMs: 90 * 60_000,
      leaseMs: 60_000,
      shutdownGraceMs: 0,
      leaderCheckMs: 250,
      retentionMs: 30 * 86_400_000,
      apiToken: "0123456789abcdef",
      logLevel: "debug",
      logFormat: "text",
      maxRequestBytes: 10_000,
      nodeId: "node-a",
    });
  });

  test("a flag wins over its environment variable; dashes are optional", () => {
    const config = loadConfig({
      env: { SCHEDULER_POLL_INTERVAL: "5s", WORKER_CONCURRENCY: "3", SCHEDULER_BATCH_SIZE: "7" },
      flags: { "poll-interval": "100ms", "--concurrency": "20", workflows: "./flows.ts" },
    });
    expect([config.pollIntervalMs, config.workerConcurrency, config.batchSize]).toEqual([100, 20, 7]);
  });

  test("off switches the metrics listener and retention off", () => {
    const config = loadConfig({ env: { METRICS_ADDR: "off", KRONOS_RETENTION: "OFF" }, flags: {} });
    expect([config.metricsAddr, config.retentionMs]).toEqual([null, null]);
    expect(loadConfig({ env: { METRICS_ADDR: "off" }, flags: { "metrics-addr": ":9000" } }).metricsAddr).toEqual({
      host: "0.0.0.0",
      port: 9000,
    });
  });

  test("empty values mean unset, so the default applies", () => {
    const config = loadConfig({
      env: { DATABASE_URL: "", SCHEDULER_POLL_INTERVAL: "  ", KRONOS_NODE_ID: "" },
      flags: {},
    });
    expect(config).toEqual(defaults);
  });

  test("the config is frozen all the way down", () => {
    const config = loadConfig({ env: {}, flags: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.grpcAddr)).toBe(true);
    expect(Object.isFrozen(config.metricsAddr)).toBe(true);
    expect(() => {
      (config as { workerConcurrency: number }).workerConcurrency = 1;
    }).toThrow(TypeError);
  });

  test("reads process.env when no env is given", () => {
    expect(loadConfig({ flags: { concurrency: "5" } }).workerConcurrency).toBe(5);
  });
});

describe("bad values", () => {
  const cases: [variable: string, value: string, message: string][] = [
    ["DATABASE_URL", "not a url", "DATABASE_URL: not a URL (use e.g. postgres://user:password@localhost:5432/kronos)"],
    [
      "DATABASE_URL",
      "mysql://root:hunter2@db/app",
      'DATABASE_URL: scheme "mysql:" is not postgres:// or postgresql://',
    ],
    ["KRONOS_DATA_DIR", "a\0b", 'KRONOS_DATA_DIR: "a\\u0000b" is not a path'],
    ["GRPC_ADDR", "50051", 'GRPC_ADDR: "50051" has no colon (did you mean ":50051"?)'],
    [
      "ADMIN_ADDR",
      "localhost",
      'ADMIN_ADDR: "localhost" is not an address (use host:port or :port, e.g. :8080 or 127.0.0.1:8080)',
    ],
    [
      "ADMIN_ADDR",
      "localhost:",
      'ADMIN_ADDR: "localhost:" has no port (use host:port or :port, e.g. :8080 or 127.0.0.1:8080)',
    ],
    ["METRICS_ADDR", ":65536", 'METRICS_ADDR: ":65536" has port 65536, above 65535'],
    [
      "METRICS_ADDR",
      "::1:80",
      'METRICS_ADDR: "::1:80" is not an address (use host:port or :port, e.g. :8080 or 127.0.0.1:8080)',
    ],
    ["WORKER_CONCURRENCY", "0", 'WORKER_CONCURRENCY: "0" is out of range (must be between 1 and 10000)'],
    ["WORKER_CONCURRENCY", "2.5", 'WORKER_CONCURRENCY: "2.5" is not a whole number'],
    ["WORKER_CONCURRENCY", "-1", 'WORKER_CONCURRENCY: "-1" is not a whole number'],
    ["WORKER_CONCURRENCY", "1e3", 'WORKER_CONCURRENCY: "1e3" is not a whole number'],
    [
      "SCHEDULER_POLL_INTERVAL",
      "2 seconds",
      'SCHEDULER_POLL_INTERVAL: "2 seconds" is not a duration (use e.g. 500ms, 2s, 5m)',
    ],
    ["SCHEDULER_POLL_INTERVAL", "30", 'SCHEDULER_POLL_INTERVAL: "30" has no unit (add one, e.g. 30ms or 30s)'],
    ["SCHEDULER_POLL_INTERVAL", "5ms", 'SCHEDULER_POLL_INTERVAL: "5ms" is out of range (must be between 10ms and 1h)'],
    ["SCHEDULER_POLL_INTERVAL", "2h", 'SCHEDULER_POLL_INTERVAL: "2h" is out of range (must be between 10ms and 1h)'],
    ["SCHEDULER_BATCH_SIZE", "1001", 'SCHEDULER_BATCH_SIZE: "1001" is out of range (must be between 1 and 1000)'],
    ["JOB_TIMEOUT", "0s", 'JOB_TIMEOUT: "0s" is out of range (must be between 1ms and 24d)'],
    ["JOB_TIMEOUT", "30d", 'JOB_TIMEOUT: "30d" is out of range (must be between 1ms and 24d)'],
    ["KRONOS_LEASE", "500ms", 'KRONOS_LEASE: "500ms" is out of range (must be between 1s and 1h)'],
    ["KRONOS_SHUTDOWN_GRACE", "-1s", 'KRONOS_SHUTDOWN_GRACE: "-1s" is not a duration (use e.g. 500ms, 2s, 5m)'],
    ["KRONOS_LEADER_CHECK", "1s1", 'KRONOS_LEADER_CHECK: "1s1" is not a duration (use e.g. 500ms, 2s, 5m)'],
    ["KRONOS_RETENTION", "never", 'KRONOS_RETENTION: "never" is not a duration (use e.g. 500ms, 2s, 5m)'],
    ["KRONOS_API_TOKEN", "short", "KRONOS_API_TOKEN: 5 characters long; use at least 16"],
    [
      "KRONOS_API_TOKEN",
      "",
      "KRONOS_API_TOKEN: empty; unset it to leave the API open, or set a token of at least 16 characters",
    ],
    [
      "KRONOS_API_TOKEN",
      "0123456789 abcdef",
      "KRONOS_API_TOKEN: has whitespace, which cannot travel in an Authorization header",
    ],
    ["KRONOS_LOG_LEVEL", "verbose", 'KRONOS_LOG_LEVEL: "verbose" is not one of debug, info, warn, error'],
    ["KRONOS_LOG_FORMAT", "yaml", 'KRONOS_LOG_FORMAT: "yaml" is not one of json, text'],
    [
      "KRONOS_MAX_REQUEST_BYTES",
      "4 megs",
      'KRONOS_MAX_REQUEST_BYTES: "4 megs" is not a size (use e.g. 65536, 512KiB, 4MiB, 1MB)',
    ],
    [
      "KRONOS_MAX_REQUEST_BYTES",
      "2GiB",
      'KRONOS_MAX_REQUEST_BYTES: "2GiB" is out of range (must be between 1KiB and 1GiB)',
    ],
    ["KRONOS_NODE_ID", "node a", 'KRONOS_NODE_ID: "node a" is not a name without spaces'],
  ];

  test.each(cases)("%s=%p", (variable, value, message) => {
    const error = configError(() => loadConfig({ env: { [variable]: value }, flags: {} }));
    expect({
      name: error.name,
      variable: error.variable,
      flag: error.flag,
      message: error.message,
      code: error.code,
    }).toEqual({
      name: "ConfigError",
      variable,
      flag: undefined,
      message,
      code: "invalid_argument",
    });
  });

  test("secrets never appear in messages", () => {
    for (const [variable, value] of [
      ["DATABASE_URL", "mysql://root:hunter2@db/app"],
      ["DATABASE_URL", "postgres://root:hunter2@db:notaport/app"],
      ["KRONOS_API_TOKEN", "hunter2"],
    ] as const) {
      expect(configError(() => loadConfig({ env: { [variable]: value }, flags: {} })).message).not.toContain("hunter2");
    }
  });

  test("a bad flag names the flag and its variable", () => {
    const error = configError(() =>
      loadConfig({ env: { SCHEDULER_POLL_INTERVAL: "1s" }, flags: { "poll-interval": "2 seconds" } }),
    );
    expect({ variable: error.variable, flag: error.flag, message: error.message }).toEqual({
      variable: "SCHEDULER_POLL_INTERVAL",
      flag: "--poll-interval",
      message: '--poll-interval (SCHEDULER_POLL_INTERVAL): "2 seconds" is not a duration (use e.g. 500ms, 2s, 5m)',
    });
  });

  test("the first bad setting is reported", () => {
    const error = configError(() => loadConfig({ env: { WORKER_CONCURRENCY: "x", JOB_TIMEOUT: "y" }, flags: {} }));
    expect(error.variable).toBe("WORKER_CONCURRENCY");
  });

  test("two listeners on one port are refused, port 0 is not", () => {
    const error = configError(() => loadConfig({ env: { ADMIN_ADDR: "127.0.0.1:2112" }, flags: {} }));
    expect([error.variable, error.message]).toEqual([
      "METRICS_ADDR",
      "METRICS_ADDR: port 2112 is already taken by ADMIN_ADDR; give each listener its own port",
    ]);
    const ok = loadConfig({ env: { GRPC_ADDR: ":0", ADMIN_ADDR: ":0", METRICS_ADDR: ":0" }, flags: {} });
    expect(ok.adminAddr.port).toBe(0);
    const apart = loadConfig({ env: { GRPC_ADDR: "127.0.0.1:7000", ADMIN_ADDR: "127.0.0.2:7000" }, flags: {} });
    expect(apart.grpcAddr.port).toBe(apart.adminAddr.port);
  });
});

describe("parsers", () => {
  test("durations", () => {
    const read = ["500ms", "2s", "5m", "1h", "7d", "1m30s", "1h0m1ms", "1.5s", " 2S "].map(parseDuration);
    expect(read).toEqual([500, 2_000, 300_000, 3_600_000, 604_800_000, 90_000, 3_600_001, 1_500, 2_000]);
    for (const bad of ["", "s", "1", "1 s", "1sec", "+1s", "1s-", "ms"]) expect(() => parseDuration(bad)).toThrow();
    expect([90_000, 3_600_000, 0, 86_400_001].map(formatDuration)).toEqual(["1m30s", "1h", "0s", "1d1ms"]);
  });

  test("sizes", () => {
    const read = ["123", "10KB", "10kb", "4MiB", "1MB", "1GiB", "512 KiB", "1.5KiB", "7B"].map(parseSize);
    expect(read).toEqual([123, 10_000, 10_000, 4_194_304, 1_000_000, 1_073_741_824, 524_288, 1_536, 7]);
    for (const bad of ["", "MB", "-1", "1TB", "1 2"]) expect(() => parseSize(bad)).toThrow();
  });

  test("addresses", () => {
    const read = [":8080", "0.0.0.0:0", "example.com:443", "[::]:50051", "[fe80::1%eth0]:80"].map(parseAddress);
    expect(read).toEqual([
      { host: "0.0.0.0", port: 8080 },
      { host: "0.0.0.0", port: 0 },
      { host: "example.com", port: 443 },
      { host: "::", port: 50051 },
      { host: "fe80::1%eth0", port: 80 },
    ]);
  });
});

describe("help and settings", () => {
  test("every Config field has exactly one setting, and help lists them all", () => {
    expect(settings.map((s): string => s.key).sort()).toEqual(Object.keys(defaults).sort());
    const help = configHelp();
    for (const s of settings) {
      expect(help).toContain(`--${s.flag} `);
      expect(help).toContain(s.env);
      if (s.default !== undefined) expect(help).toContain(`default ${s.default}`);
      expect(help).toContain(s.description);
    }
    expect(Object.isFrozen(settings)).toBe(true);
  });

  test("defaults as written are valid values of their settings", () => {
    const env: Record<string, string | undefined> = {};
    for (const s of settings) env[s.env] = s.default;
    expect(loadConfig({ env, flags: {} })).toEqual(defaults);
  });

  test("describeConfig masks secrets", () => {
    const config = loadConfig({
      env: {
        DATABASE_URL: "postgres://k:hunter2@db/k",
        KRONOS_API_TOKEN: "hunter2hunter2hunter2",
        METRICS_ADDR: "off",
      },
      flags: {},
    });
    const described = describeConfig(config);
    expect(JSON.stringify(described)).not.toContain("hunter2");
    expect(described).toMatchObject({ databaseUrl: "postgres://k:***@db/k", apiToken: "***", metricsAddr: "off" });
  });
});
