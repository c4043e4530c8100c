import { Command, CommanderError } from "commander";
import { HbsyncError } from "../shared/errors.ts";
import { COMMAND_MODULES } from "./commands/index.ts";
import type { CliContext } from "./context.ts";
import { EXIT, EXIT_CODE_BY_KIND } from "./exit-codes.ts";
import type { Output } from "./output.ts";

export const VERSION = "0.1.0";

/** Declares the program: global options, then every command module's own commands. */
export async function buildProgram(ctx: CliContext): Promise<Command> {
  const program = new Command("hbsync")
    .description("Keep an organisation's own mirror of Homebrew bottles and the signed JSON API")
    .version(VERSION)
    .showSuggestionAfterError(true)
    // `--version <sha>` on `env deploy` must reach the subcommand: without positional options commander
    // hands a `--version` anywhere on the line to the program's own -V, so `hbsync env deploy prod
    // --version abc` would print hbsync's version and exit 0 without deploying. Program options
    // (-V/--version, -h/--help) are still recognised before the subcommand.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.output.out(text.replace(/\n$/, "")),
      writeErr: (text) => ctx.output.err(text.replace(/\n$/, "")),
    });
  for (const load of COMMAND_MODULES) {
    const module = await load();
    module.register(program, ctx);
  }
  // Sub-commands inherit exitOverride and output settings.
  for (const command of allCommands(program)) {
    command.exitOverride().configureOutput({
      writeOut: (text) => ctx.output.out(text.replace(/\n$/, "")),
      writeErr: (text) => ctx.output.err(text.replace(/\n$/, "")),
    });
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((child) => [child, ...allCommands(child)]);
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * The error funnel: runs one command line and returns its exit code. Expected failures
 * (HbsyncError) print what happened and the fix; anything else is reported as a bug.
 * Never calls process.exit — bin/hbsync.js does, with the returned code.
 */
export async function run(argv: string[], output: Output, options: RunOptions = {}): Promise<number> {
  const ctx: CliContext = {
    output,
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    exitCode: EXIT.OK,
  };
  try {
    const program = await buildProgram(ctx);
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    return reportError(error, output);
  }
}

export function reportError(error: unknown, output: Output): number {
  if (error instanceof CommanderError) {
    // Help and version exit through here too, with exitCode 0; commander has already printed.
    if (error.exitCode === 0) return EXIT.OK;
    return EXIT.USAGE;
  }
  if (error instanceof HbsyncError) {
    output.err(`error: ${error.message}`);
    if (error.fix) output.err(`fix: ${error.fix}`);
    return EXIT_CODE_BY_KIND[error.kind];
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  output.err(
    "error: an unexpected error occurred — this is a bug in hbsync, please report it with this output:",
  );
  output.err(detail);
  return EXIT.FAILED;
}
