import type { Command } from "commander";
import { Option } from "commander";
import { CLIENT_LAYOUTS, type ClientLayout, clientEnv, renderShell } from "../../mirror/client-env.ts";
import type { CliContext } from "../context.ts";
import { loadOptionalConfig } from "./report.ts";

interface ClientEnvFlags {
  base: string;
  layout?: ClientLayout;
  brewGit?: boolean;
  config: string;
  json?: boolean;
}

/** `hbsync client-env --base URL`: the environment of an air-gapped brew client, one comment per line. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("client-env")
    .description("Print the environment an air-gapped brew client needs to use the mirror at --base")
    .requiredOption("--base <url>", "the mirror's base URL (what `hbsync serve` or CloudFront serves)")
    .addOption(
      new Option(
        "--layout <layout>",
        "flat: HOMEBREW_BOTTLE_DOMAIN; oci: HOMEBREW_ARTIFACT_DOMAIN (default: oci when mirror.layouts has it)",
      ).choices(CLIENT_LAYOUTS),
    )
    .option("--brew-git", "the mirror publishes brew's git (default: mirror.brew_git in the config)")
    .option("--no-brew-git", "the mirror does not publish brew's git")
    .option("--config <path>", "config file, for mirror.brew_git and mirror.layouts", "config.yaml")
    .option("--json", "print one JSON document")
    .action(async (flags: ClientEnvFlags, command: Command) => {
      const explicitGit = command.getOptionValueSource("brewGit") === "cli";
      const config =
        explicitGit && flags.layout !== undefined
          ? undefined
          : await loadOptionalConfig(flags.config, command.getOptionValueSource("config") === "cli", ctx);
      const brewGit = explicitGit ? Boolean(flags.brewGit) : (config?.mirror.brew_git ?? false);
      const published = config?.mirror.layouts;
      const layout = flags.layout ?? (published?.includes("oci") ? "oci" : "flat");
      if (layout === "oci" && published !== undefined && !published.includes("oci")) {
        ctx.output.err(
          `warning: ${flags.config}'s mirror.layouts is [${published.join(", ")}]: the mirror does not publish <base>/v2/homebrew/core/…, which these variables point at; add oci to mirror.layouts (docs/config.md) or use --layout flat`,
        );
      }
      const env = clientEnv({ base: flags.base, layout, brewGit });
      if (flags.json) {
        ctx.output.json({
          ...env,
          set: Object.fromEntries(
            env.variables.flatMap((variable) =>
              variable.value === null ? [] : [[variable.name, variable.value]],
            ),
          ),
          unset: env.variables.filter((variable) => variable.value === null).map((variable) => variable.name),
        });
        return;
      }
      for (const line of renderShell(env)) ctx.output.out(line);
    });
}
