import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { type Document, isAlias, LineCounter, parseAllDocuments, visit, type YAMLError } from "yaml";
import { errorMessage } from "../shared/errors.ts";
import { MAX_CONFIG_BYTES } from "./constants.ts";
import { type Diagnostic, formatPath, sortDiagnostics } from "./diagnostics.ts";
import { ConfigFileError, InvalidConfigError } from "./errors.ts";
import { type Finding, findingsFromIssues } from "./issues.ts";
import { Locator } from "./positions.ts";
import { checkRules } from "./rules.ts";
import { ConfigSchema } from "./schema.ts";
import { findSecrets } from "./secrets.ts";
import { checkBeforeParse, positionIn, structureFindings } from "./structure.ts";
import type { PipelineConfig } from "./types.ts";

/** The outcome of reading a config file: a config only when there are no errors. */
export interface ConfigResult {
  file: string;
  config: PipelineConfig | undefined;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export interface ParseOptions {
  /** Directory relative paths in the file (mirror.upstream.trusted_key) resolve against; checked if given. */
  baseDir?: string;
}

const YAML_FIXES: Record<string, string> = {
  DUPLICATE_KEY: "keep one of the repeated keys and delete the other",
  TAB_AS_INDENT: "indent with spaces, not tabs (2 spaces per level)",
  BAD_INDENT: "line up keys of the same mapping at the same indentation (2 spaces per level)",
  MULTIPLE_DOCS: "keep a single YAML document: remove the extra `---` line and what follows it",
  BAD_ALIAS: "define the anchor (`&name`) before using the alias (`*name`), or write the value out",
  MISSING_CHAR: "add the missing closing quote or bracket",
  MULTILINE_IMPLICIT_KEY: "put the key and its `:` on one line, or quote the value",
  BLOCK_AS_IMPLICIT_KEY: "put a space after each `:` and indent nested keys below their parent",
};
const EMPTY_MESSAGE = "the file is empty";
const EMPTY_FIX =
  "start from the example config.yaml at the repository root (project, environments, resources, notifications, mirror)";
const YAML_FIX_DEFAULT =
  "fix the YAML near this position: indent with spaces, put a space after each `:`, quote values that contain `: ` or ` #`";

function yamlDiagnostic(
  error: YAMLError,
  severity: Diagnostic["severity"],
  file: string,
  locator: Locator,
): Diagnostic {
  const { line, col } = locator.fromOffset(error.pos[0]);
  const unclosed = /end with an? ([\]}"'])/.exec(error.message);
  return {
    severity,
    file,
    line,
    col,
    path: "",
    message: `YAML ${severity === "error" ? "syntax error" : "warning"}: ${error.message.split("\n")[0]}`,
    fix: unclosed ? `close it with a matching ${unclosed[1]}` : (YAML_FIXES[error.code] ?? YAML_FIX_DEFAULT),
  };
}

function fileLevel(file: string, message: string, fix: string): ConfigResult {
  return {
    file,
    config: undefined,
    errors: [{ severity: "error", file, line: 1, col: 1, path: "", message, fix }],
    warnings: [],
  };
}

function isWithin(path: readonly (string | number)[], prefix: readonly (string | number)[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => String(segment) === String(path[i]));
}

function trustedKeyFinding(config: PipelineConfig, baseDir: string): Finding | undefined {
  const key = config.mirror.upstream.trusted_key;
  if (key === "builtin") return undefined;
  const path = isAbsolute(key) ? key : resolve(baseDir, key);
  if (existsSync(path)) return undefined;
  return {
    path: ["mirror", "upstream", "trusted_key"],
    at: "value",
    message: `trusted_key file \`${key}\` does not exist (looked for ${path})`,
    fix: "use `builtin` for Homebrew's own key, or a path to a PEM public key relative to the config file",
  };
}

/** Where the first unresolvable alias is (or the first alias, for an alias bomb). */
function firstAliasPosition(doc: Document, locator: Locator): { line: number; col: number } {
  let unresolved: number | undefined;
  let first: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      const offset = node.range?.[0];
      if (offset === undefined) return;
      first ??= offset;
      if (unresolved === undefined && isAlias(node) && node.resolve(doc) === undefined) unresolved = offset;
    },
  });
  const offset = unresolved ?? first;
  return offset === undefined ? { line: 1, col: 1 } : locator.fromOffset(offset);
}

/**
 * Validates config text: YAML (with positions) → schema → defaults → cross-field rules. Never throws
 * for bad input: every problem is a diagnostic with file:line:col, what is wrong and how to fix it.
 */
export function parseConfig(text: string, file = "config.yaml", options: ParseOptions = {}): ConfigResult {
  try {
    return parseUnchecked(text, file, options);
  } catch (error) {
    return fileLevel(
      file,
      `hbsync could not validate this file (this is a bug in hbsync: ${errorMessage(error)})`,
      "report it with the file attached; meanwhile compare the file with the example config.yaml",
    );
  }
}

function parseUnchecked(text: string, file: string, options: ParseOptions): ConfigResult {
  if (text.length > MAX_CONFIG_BYTES) {
    return fileLevel(
      file,
      `the file is ${text.length} characters long; a config file is a few KB (limit ${MAX_CONFIG_BYTES})`,
      "point --config at the right file, or start again from the example config.yaml",
    );
  }
  // Before the parser, which recurses once per nesting level (1,000 brackets would overflow the stack)
  // and builds a node per key.
  const refused = checkBeforeParse(text);
  if (refused) {
    const { line, col } = positionIn(text, refused.offset);
    return {
      file,
      config: undefined,
      errors: [{ severity: "error", file, line, col, path: "", message: refused.message, fix: refused.fix }],
      warnings: [],
    };
  }
  const lineCounter = new LineCounter();
  const parsedDocs = parseAllDocuments(text, {
    lineCounter,
    prettyErrors: false,
    logLevel: "silent",
    // Duplicate keys are found by structureFindings below: the library's check is quadratic.
    uniqueKeys: false,
  });
  const docs: Document[] = Array.isArray(parsedDocs) ? parsedDocs : [];
  const doc = docs[0];
  const locator = new Locator(doc, lineCounter);
  if (!doc) {
    return fileLevel(file, EMPTY_MESSAGE, EMPTY_FIX);
  }
  const second = docs[1];
  if (second) {
    const { line, col } = locator.fromOffset(second.range?.[0] ?? 0);
    const message = `the file holds ${docs.length} YAML documents; a config file is one`;
    const fix = "remove the `---` line and everything after it (or merge the documents)";
    return {
      file,
      config: undefined,
      errors: [{ severity: "error", file, line, col, path: "", message, fix }],
      warnings: [],
    };
  }
  const yamlWarnings = doc.warnings.map((w) => yamlDiagnostic(w, "warning", file, locator));
  if (doc.errors.length > 0) {
    return {
      file,
      config: undefined,
      errors: sortDiagnostics(doc.errors.map((e) => yamlDiagnostic(e, "error", file, locator))),
      warnings: yamlWarnings,
    };
  }
  const structure = structureFindings(doc, (offset) => locator.fromOffset(offset));
  if (structure.length > 0) {
    return {
      file,
      config: undefined,
      errors: sortDiagnostics(
        structure.map((problem) => ({
          severity: "error" as const,
          file,
          ...locator.fromOffset(problem.offset),
          path: "",
          message: problem.message,
          fix: problem.fix,
        })),
      ),
      warnings: yamlWarnings,
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const { line, col } = firstAliasPosition(doc, locator);
    const message = `YAML aliases cannot be expanded: ${errorMessage(error)}`;
    const fix = "define each anchor (`&name`) before its alias (`*name`), or write the values out";
    return {
      file,
      config: undefined,
      errors: [{ severity: "error", file, line, col, path: "", message, fix }],
      warnings: [],
    };
  }
  if (raw === null || raw === undefined) {
    return fileLevel(file, EMPTY_MESSAGE, EMPTY_FIX);
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return fileLevel(
      file,
      `the top level must be a mapping of keys (project, environments, …), not ${Array.isArray(raw) ? "a list" : "a single value"}`,
      "start from the example config.yaml at the repository root",
    );
  }

  const secrets = findSecrets(doc.contents);
  const parsed = ConfigSchema.safeParse(raw);
  const schemaFindings = parsed.success ? [] : findingsFromIssues(parsed.error.issues, raw);
  const rules = checkRules(raw);
  // A secret is reported once, as a secret, not also as an unknown key or a bad value.
  const notSecret = (finding: Finding): boolean => !secrets.some((s) => isWithin(finding.path, s.path));
  const errorFindings = [...secrets, ...schemaFindings.filter(notSecret), ...rules.errors.filter(notSecret)];
  if (errorFindings.length === 0 && parsed.success && options.baseDir !== undefined) {
    const missingKey = trustedKeyFinding(parsed.data, options.baseDir);
    if (missingKey) errorFindings.push(missingKey);
  }

  const toDiagnostic =
    (severity: Diagnostic["severity"]) =>
    (finding: Finding): Diagnostic => {
      const { line, col } = finding.at === "key" ? locator.key(finding.path) : locator.value(finding.path);
      return {
        severity,
        file,
        line,
        col,
        path: formatPath(finding.path),
        message: finding.message,
        fix: finding.fix,
      };
    };
  const errors = sortDiagnostics(errorFindings.map(toDiagnostic("error")));
  const warnings = sortDiagnostics([...yamlWarnings, ...rules.warnings.map(toDiagnostic("warning"))]);
  return { file, config: errors.length === 0 && parsed.success ? parsed.data : undefined, errors, warnings };
}

/**
 * Reads and validates a config file. `displayName` is how diagnostics name the file (default: the
 * path as given). Throws ConfigFileError only when the file cannot be read; problems in its content
 * are diagnostics.
 */
export async function loadConfig(
  path: string,
  options: { displayName?: string; cwd?: string } = {},
): Promise<ConfigResult> {
  const absolute = resolve(options.cwd ?? process.cwd(), path);
  const file = options.displayName ?? path;
  let text: string;
  try {
    const info = await stat(absolute);
    if (!info.isFile()) throw new ConfigFileError(file, "it is not a file");
    if (info.size > MAX_CONFIG_BYTES * 4) {
      return fileLevel(
        file,
        `the file is ${info.size} bytes; a config file is a few KB`,
        "point --config at the right file",
      );
    }
    text = await readFile(absolute, "utf8");
  } catch (error) {
    if (error instanceof ConfigFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigFileError(file, code === "ENOENT" ? "no such file" : errorMessage(error), error);
  }
  return parseConfig(text, file, { baseDir: dirname(absolute) });
}

/**
 * For commands that need a valid config: returns it with its warnings, or throws InvalidConfigError
 * (a ConfigError of kind "usage", exit 2) whose message lists every diagnostic.
 */
export async function loadConfigOrThrow(
  path: string,
  options: { displayName?: string; cwd?: string } = {},
): Promise<{ config: PipelineConfig; warnings: Diagnostic[] }> {
  const result = await loadConfig(path, options);
  if (!result.config || result.errors.length > 0) throw new InvalidConfigError(result.file, result.errors);
  return { config: result.config, warnings: result.warnings };
}
