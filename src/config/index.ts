export {
  type Config,
  ConfigError,
  configHelp,
  describeConfig,
  type LogFormat,
  type LogLevel,
  loadConfig,
  type SettingInfo,
  settings,
} from "./config.ts";
export {
  type Address,
  DEFAULT_HOST,
  formatDuration,
  formatSize,
  parseAddress,
  parseDuration,
  parseSize,
} from "./parse.ts";
