/** One problem found in a config file, located and explained. */
export interface Diagnostic {
  severity: "error" | "warning";
  /** The config file as the user named it (e.g. `config.yaml`). */
  file: string;
  /** 1-based line and column. */
  line: number;
  col: number;
  /** Dotted path of the key concerned (`environments.dev.aws_region`, `mirror.tags[1]`); "" for the file. */
  path: string;
  /** What is wrong. */
  message: string;
  /** How to fix it. */
  fix: string;
}

export type PathSegment = string | number;

/** `["environments", "dev", "resources"]` → `environments.dev.resources`; indexes as `[1]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? segment : `.${segment}`;
  }
  return text;
}

/** `config.yaml:12:5: error: <what is wrong> — fix: <how>` */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const { file, line, col, severity, message, fix } = diagnostic;
  return `${file}:${line}:${col}: ${severity}: ${message} — fix: ${fix}`;
}

/** Drops exact repeats (same position and message), keeping the first; sorts by position. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique = diagnostics.filter((d) => {
    const key = `${d.severity}\u0000${d.line}\u0000${d.col}\u0000${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => a.line - b.line || a.col - b.col);
}
