/**
 * GitHub Actions workflow commands (`::error file=…,line=…,title=…::message`) for errors and failed
 * tests. Escaping follows @actions/core (toCommandValue/escapeData/escapeProperty): in the message
 * `%`, `\r`, `\n` become `%25`, `%0D`, `%0A`; in properties also `:` → `%3A` and `,` → `%2C`, so a
 * message or a file name can never end the command early or inject another one.
 */
export type AnnotationLevel = "error" | "warning" | "notice";

export interface Annotation {
  level: AnnotationLevel;
  message: string;
  title?: string;
  file?: string;
  line?: number;
  endLine?: number;
  col?: number;
  endColumn?: number;
}

export function escapeData(value: string): string {
  return value.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

export function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** One workflow command line. */
export function formatAnnotation(annotation: Annotation): string {
  const properties: string[] = [];
  const add = (name: string, value: string | number | undefined): void => {
    if (value === undefined || value === "") return;
    properties.push(`${name}=${escapeProperty(String(value))}`);
  };
  add("file", annotation.file);
  add("line", annotation.line);
  add("endLine", annotation.endLine);
  add("col", annotation.col);
  add("endColumn", annotation.endColumn);
  add("title", annotation.title);
  const props = properties.length > 0 ? ` ${properties.join(",")}` : "";
  return `::${annotation.level}${props}::${escapeData(annotation.message)}`;
}

/** Annotations go out only inside GitHub Actions (`GITHUB_ACTIONS=true`). */
export function annotationsEnabled(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === "true";
}
