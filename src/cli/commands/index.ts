import type { Command } from "commander";
import type { CliContext } from "../context.ts";

/**
 * Every command module exports `register(program, ctx)`. One entry per module, alphabetical:
 * `["<command>", () => import("./<command>.ts")],` where <command> is the top-level command the module
 * registers (tests/unit/cli/commands-index.test.ts checks it). The CLI imports only the module of the
 * command on the line, so `hbsync sync` does not load Terraform, AWS Lambda or secretlint code; help
 * and unknown commands load them all. A bare `() => import("./x.ts")` entry still works, but is loaded
 * for every command.
 */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export type LoadCommand = () => Promise<{ register: RegisterCommand }>;

export const COMMAND_MODULES: Array<readonly [command: string, load: LoadCommand] | LoadCommand> = [
  // hbsync-commands: begin
  ["client-env", () => import("./client-env.ts")],
  ["config", () => import("./config.ts")],
  ["cost", () => import("./cost.ts")],
  ["emulator", () => import("./emulator.ts")],
  ["env", () => import("./env.ts")],
  ["migrate", () => import("./migrate.ts")],
  ["notify", () => import("./notify.ts")],
  ["plan", () => import("./plan.ts")],
  ["report", () => import("./report.ts")],
  ["rollback", () => import("./rollback.ts")],
  ["scan", () => import("./scan.ts")],
  ["serve", () => import("./serve.ts")],
  ["sync", () => import("./sync.ts")],
  ["test", () => import("./test.ts")],
  ["unlock", () => import("./unlock.ts")],
  ["verify", () => import("./verify.ts")],
  // hbsync-commands: end
];
