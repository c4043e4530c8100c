import type { Command } from "commander";
import type { CliContext } from "../context.ts";

/**
 * Every command module exports `register(program, ctx)`. Add one line here per module
 * (keep the list alphabetical; each module owns its own sub-commands).
 */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMAND_MODULES: Array<() => Promise<{ register: RegisterCommand }>> = [
  // hbsync-commands: begin
  () => import("./config.ts"),
  () => import("./cost.ts"),
  () => import("./emulator.ts"),
  () => import("./env.ts"),
  () => import("./migrate.ts"),
  () => import("./notify.ts"),
  () => import("./plan.ts"),
  () => import("./report.ts"),
  () => import("./rollback.ts"),
  () => import("./scan.ts"),
  () => import("./serve.ts"),
  () => import("./sync.ts"),
  () => import("./test.ts"),
  () => import("./verify.ts"),
  // hbsync-commands: end
];
