/** Structured logs: one JSON object a line on stderr (or human-readable text with KRONOS_LOG_FORMAT=text). */
export type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  format?: "json" | "text";
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const min = order[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    if (options.format === "text") {
      const extra = { ...base, ...fields };
      const tail = Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : "";
      write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${tail}`);
    } else {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }));
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything (tests and benchmarks). */
export const silentLogger: Logger = createLogger({ write: () => {} });
