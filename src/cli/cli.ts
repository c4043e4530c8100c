import { Command, CommanderError, Help } from "commander";
import { HbsyncError, oneLine } from "../shared/errors.ts";
import { COMMAND_MODULES, COMMAND_SUMMARIES } from "./commands/index.ts";
import type { CliContext } from "./context.ts";
import { EXIT, EXIT_CODE_BY_KIND } from "./exit-codes.ts";
import type { Output } from "./output.ts";

export const VERSION = "0.1.0";

export interface BuildProgramOptions {
  /**
   * Load only the module that registers this top-level command (plus any bare entries), so a command
   * starts without importing every other command's dependencies. Default: every module.
   */
  only?: string;
  /**
   * Declare each command from COMMAND_SUMMARIES only (a name and a description, no module loaded):
   * enough for the top-level help and --version, which is all it is used for.
   */
  summaries?: boolean;
}

/** Declares the program: global options, then the command modules' own commands. */
export async function buildProgram(ctx: CliContext, options: BuildProgramOptions = {}): Promise<Command> {
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
  if (options.summaries) {
    for (const [name, [, description]] of Object.entries(COMMAND_SUMMARIES)) {
      program.command(name).description(description);
    }
    const help = new Help();
    program.configureHelp({
      subcommandTerm: (command) => COMMAND_SUMMARIES[command.name()]?.[0] ?? help.subcommandTerm(command),
    });
    return program;
  }
  for (const entry of COMMAND_MODULES) {
    const [command, load] = typeof entry === "function" ? [undefined, entry] : entry;
    if (options.only !== undefined && command !== undefined && command !== options.only) continue;
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

/**
 * The top-level command an argument list names, when a module registers it: the first word that is
 * not an option (the program itself takes only -V/--version and -h/--help, which take no value).
 * Undefined for no command, `help`, or an unknown word: then every module loads, for help and
 * suggestions.
 */
export function commandOf(argv: readonly string[]): string | undefined {
  const word = argv.find((arg) => !arg.startsWith("-"));
  if (word === undefined) return undefined;
  const known = COMMAND_MODULES.some((entry) => typeof entry !== "function" && entry[0] === word);
  return known ? word : undefined;
}

/**
 * True for an argument list that only asks for the program's own help or version: no word but a lone
 * `help`. Every other list without a known command (an unknown word: suggestions) loads every module.
 */
export function topLevelHelp(argv: readonly string[]): boolean {
  const words = argv.filter((arg) => !arg.startsWith("-"));
  return words.length === 0 || (words.length === 1 && words[0] === "help");
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
    const only = commandOf(argv);
    const program = await buildProgram(
      ctx,
      only !== undefined ? { only } : { summaries: topLevelHelp(argv) },
    );
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    return reportError(error, output, ctx.env);
  }
}

export function reportError(error: unknown, output: Output, env: NodeJS.ProcessEnv = process.env): number {
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
  reportUnexpected(error, output, env);
  return EXIT.FAILED;
}

/**
 * An error that is not an HbsyncError (a bug), in one line; the stack only with HBSYNC_DEBUG=1. Also
 * what the process guard prints for an error raised outside any await chain (src/cli/main.ts).
 */
export function reportUnexpected(error: unknown, output: Output, env: NodeJS.ProcessEnv): void {
  if (error instanceof HbsyncError) {
    output.err(`error: ${error.message}`);
    if (error.fix) output.err(`fix: ${error.fix}`);
  } else {
    output.err(
      `error: an unexpected error occurred (${oneLine(error)}) — this is a bug in hbsync; please report it (HBSYNC_DEBUG=1 prints the stack)`,
    );
  }
  if (env.HBSYNC_DEBUG === "1") {
    const cause = error instanceof HbsyncError && error.cause !== undefined ? error.cause : error;
    output.err(cause instanceof Error ? (cause.stack ?? cause.message) : String(cause));
  }
}
