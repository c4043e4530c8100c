/** The config area's public surface: import from here. */
export { type Diagnostic, formatDiagnostic } from "./diagnostics.ts";
export {
  ConfigError,
  ConfigFileError,
  InvalidConfigError,
  UnknownEnvironmentError,
} from "./errors.ts";
export { configJsonSchema, renderConfigSchema } from "./json-schema.ts";
export { type ConfigResult, loadConfig, loadConfigOrThrow, parseConfig } from "./load.ts";
export { environmentNames, resolveEnvironment } from "./resolve.ts";
export {
  intervalMinutesLowerBound,
  parseSchedule,
  type Schedule,
  type ScheduleResult,
} from "./schedule.ts";
export { renderTfvarsHcl, renderTfvarsJson, type TfvarValue, toTfvars } from "./tfvars.ts";
export type * from "./types.ts";
