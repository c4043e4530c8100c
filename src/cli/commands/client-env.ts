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

/** The layouts a mirror serves. Only `flat` today; `mirror.layouts` (with `oci`) comes with the OCI layout. */
const SERVED_LAYOUTS: readonly ClientLayout[] = ["flat"];

/** `hbsync client-env --base URL`: the environment of an air-gapped brew client, one comment per line. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("client-env")
    .description("Print the environment an air-gapped brew client needs to use the mirror at --base")
    .requiredOption("--base <url>", "the mirror's base URL (what `hbsync serve` or CloudFront serves)")
    .addOption(
      new Option("--layout <layout>", "flat: HOMEBREW_BOTTLE_DOMAIN; oci: HOMEBREW_ARTIFACT_DOMAIN").choices(
        CLIENT_LAYOUTS,
      ),
    )
    .option("--brew-git", "the mirror publishes brew's git (default: mirror.brew_git in the config)")
    .option("--no-brew-git", "the mirror does not publish brew's git")
    .option("--config <path>", "config file, for mirror.brew_git", "config.yaml")
    .option("--json", "print one JSON document")
    .action(async (flags: ClientEnvFlags, command: Command) => {
      const explicitGit = command.getOptionValueSource("brewGit") === "cli";
      const config = explicitGit
        ? undefined
        : await loadOptionalConfig(flags.config, command.getOptionValueSource("config") === "cli", ctx);
      const brewGit = explicitGit ? Boolean(flags.brewGit) : (config?.mirror.brew_git ?? false);
      const layout = flags.layout ?? SERVED_LAYOUTS[0] ?? "flat";
      if (!SERVED_LAYOUTS.includes(layout)) {
        ctx.output.err(
          `warning: this version of hbsync does not publish the ${layout} layout (it serves: ${SERVED_LAYOUTS.join(", ")}); these variables need a mirror that serves <base>/v2/homebrew/core/…`,
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
