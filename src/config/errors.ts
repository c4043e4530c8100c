import { HbsyncError, type HbsyncErrorOptions } from "../shared/errors.ts";
import { type Diagnostic, formatDiagnostic } from "./diagnostics.ts";

/** A configuration problem: exit 2 (usage/configuration error, DESIGN.md §8). */
export class ConfigError extends HbsyncError {
  readonly file: string | undefined;
  readonly diagnostics: readonly Diagnostic[];

  constructor(
    message: string,
    options: Omit<HbsyncErrorOptions, "kind"> & { file?: string; diagnostics?: readonly Diagnostic[] } = {},
  ) {
    super(message, { ...options, kind: "usage" });
    this.name = "ConfigError";
    this.file = options.file;
    this.diagnostics = options.diagnostics ?? [];
  }
}

/** The config file does not exist or cannot be read. */
export class ConfigFileError extends ConfigError {
  constructor(file: string, reason: string, cause?: unknown) {
    super(`cannot read config file ${file}: ${reason}`, {
      file,
      cause,
      fix: "create it from the example config.yaml at the repository root, or pass --config PATH",
    });
    this.name = "ConfigFileError";
  }
}

/** The config file has errors; the message lists every diagnostic. */
export class InvalidConfigError extends ConfigError {
  constructor(file: string, errors: readonly Diagnostic[]) {
    const count = `${errors.length} error${errors.length === 1 ? "" : "s"}`;
    super([`${file} is invalid (${count}):`, ...errors.map((d) => `  ${formatDiagnostic(d)}`)].join("\n"), {
      file,
      diagnostics: errors,
      fix: `correct ${file} (each line above says how), then check it with \`hbsync config validate --config ${file}\``,
    });
    this.name = "InvalidConfigError";
  }
}

/** `--env E` names an environment the config does not define. */
export class UnknownEnvironmentError extends ConfigError {
  readonly environment: string;
  readonly known: readonly string[];

  constructor(environment: string, known: readonly string[], file = "config.yaml") {
    super(`unknown environment \`${environment}\`: ${file} defines ${known.join(", ") || "none"}`, {
      file,
      fix: `pass one of --env ${known.join(" | ") || "<add one under environments:>"}`,
    });
    this.name = "UnknownEnvironmentError";
    this.environment = environment;
    this.known = known;
  }
}
