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

/**
 * What the top-level help (`hbsync`, `hbsync --help`, `hbsync help`, `--version`) shows of each command:
 * its term and its description. That help is built from this table alone, so it loads commander and
 * nothing else (no command module: bench/README.md, `hbsync --help`). Keep it in step with the
 * modules: tests/unit/cli/commands-index.test.ts compares the two helps line by line.
 */
export const COMMAND_SUMMARIES: Record<string, readonly [term: string, description: string]> = {
  "client-env": [
    "client-env [options]",
    "Print the environment an air-gapped brew client needs to use the mirror at --base",
  ],
  config: ["config", "Validate config.yaml, show an environment, render terraform.tfvars"],
  cost: [
    "cost [options]",
    "Estimate each environment's monthly AWS cost from config.yaml, suggest savings, and exit 3 when an estimate exceeds budget_usd",
  ],
  emulator: [
    "emulator [options]",
    "Run a local Homebrew upstream (signed API, OCI registry, blob host) until Ctrl-C",
  ],
  env: ["env", "Manage one environment's infrastructure with Terraform"],
  migrate: [
    "migrate [options]",
    "Import the original system's bottles_hash.json: adopt stored bottles after a sha256 re-hash",
  ],
  notify: [
    "notify [options] <event>",
    "Send a notification (Slack, email) to every channel enabled in config.yaml",
  ],
  plan: [
    "plan [options]",
    "Show what a sync would move: bottles and bytes per tag, keeps, superseded and pruned (writes nothing)",
  ],
  report: [
    "report [options]",
    "Write the mirror's status page (freshness, bottles per tag, runs, deployments, costs) as static index.html, status.css and status.json",
  ],
  rollback: [
    "rollback [options] <env>",
    "Redeploy the newest verified earlier version (or --to VERSION) from the git revision its deploy recorded, and record it in the ledger",
  ],
  scan: [
    "scan [options] [target]",
    "Scan for secrets, Terraform policy violations, workflow hardening gaps and vulnerable dependencies; exit 1 on findings at or above --severity",
  ],
  serve: [
    "serve [options]",
    "Serve a mirror over HTTP for brew (HOMEBREW_BOTTLE_DOMAIN / HOMEBREW_API_DOMAIN) until Ctrl-C",
  ],
  sync: [
    "sync [options]",
    "Mirror the bottles and the signed API: plan, transfer, publish the API last, prune",
  ],
  test: [
    "test [options] [suite]",
    "Run a test suite through Vitest; write JUnit XML and a Markdown summary; block deploys on failure",
  ],
  unlock: [
    "unlock [options]",
    "Show who holds the sync lock (_sync/lock) and release it; --force for a holder that looks alive",
  ],
  verify: [
    "verify [options]",
    "Re-hash every object against _sync/state.json; exit 1 on any missing or corrupted object (--repair re-fetches them)",
  ],
};
