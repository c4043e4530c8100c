import type { Output } from "./output.ts";

/** What every command gets: where to write, and the process environment (injectable for tests). */
export interface CliContext {
  output: Output;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Set by a command's action; the funnel returns it (default 0). */
  exitCode: number;
}
