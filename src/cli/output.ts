/**
 * Where commands write. Commands never call console.* or process.exit directly: they write through an
 * Output so tests can capture it, and return an exit code to the funnel.
 */
export interface Output {
  /** Human-readable lines (stdout). Suppressed by nothing; commands skip it when `json` is set. */
  out(line: string): void;
  /** Diagnostics (stderr). */
  err(line: string): void;
  /** `--json`: exactly one JSON document on stdout. */
  json(value: unknown): void;
  /** True when stdout is a terminal (progress bars, colour). */
  readonly isTTY: boolean;
}

export function processOutput(): Output {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    isTTY: Boolean(process.stdout.isTTY),
  };
}

/** An Output that records everything, for tests. */
export function memoryOutput(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    json: (value) => stdout.push(JSON.stringify(value, null, 2)),
    isTTY: false,
  };
}
