import type { Command } from "commander";
import { formatDiagnostic } from "../../config/diagnostics.ts";
import { loadConfigOrThrow } from "../../config/load.ts";
import { environmentNames, resolveEnvironment } from "../../config/resolve.ts";
import { resolveAssumptions } from "../../pipeline/cost/assumptions.ts";
import { assertWithinBudget } from "../../pipeline/cost/budget.ts";
import { estimateMonthlyCost } from "../../pipeline/cost/estimate.ts";
import { costInputFromEnvironment, type DeploymentFacts } from "../../pipeline/cost/from-config.ts";
import { pricesForOrAssumed } from "../../pipeline/cost/prices.ts";
import { recommend } from "../../pipeline/cost/recommend.ts";
import {
  type EnvironmentReport,
  renderMarkdown,
  renderTable,
  toJsonDocument,
} from "../../pipeline/cost/render.ts";
import type { Architecture } from "../../pipeline/cost/types.ts";
import { UsageError } from "../../shared/errors.ts";
import type { CliContext } from "../context.ts";

const FORMATS = ["table", "json", "md"] as const;
type Format = (typeof FORMATS)[number];

interface CostOptions {
  config: string;
  env?: string;
  all?: boolean;
  format?: string;
  json?: boolean;
  assume: string[];
  arch?: string;
  nat?: boolean | string;
  s3GatewayEndpoint?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("cost")
    .description(
      "Estimate each environment's monthly AWS cost from config.yaml, suggest savings, and exit 3 when an estimate exceeds budget_usd",
    )
    .option("--config <file>", "config file", "config.yaml")
    .option("--env <name>", "one environment (default: all of them)")
    .option("--all", "every environment in the config (the default)")
    .option("--format <format>", `output: ${FORMATS.join(", ")} (md suits $GITHUB_STEP_SUMMARY)`, "table")
    .option("--json", "same as --format json")
    .option(
      "--assume <key=value>",
      "override an estimate assumption (repeatable), e.g. clientEgressGbPerMonth=100",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      "--arch <arch>",
      "architecture the functions and the task run on: arm64 (what infra/terraform deploys, the default) or x86_64",
      "arm64",
    )
    .option("--nat [gateways]", "the VPC reaches the internet through NAT gateway(s) (default 1)")
    .option("--s3-gateway-endpoint", "an S3 gateway VPC endpoint carries S3 traffic (with --nat)")
    .action(async (options: CostOptions) => {
      await runCost(options, ctx);
    });
}

async function runCost(options: CostOptions, ctx: CliContext): Promise<void> {
  const format = chooseFormat(options);
  if (options.env !== undefined && options.all) {
    throw new UsageError("--env and --all cannot be used together", {
      fix: "pass --env <name> for one environment or --all for every one",
    });
  }
  const facts = deploymentFacts(options);
  const assumptions = resolveAssumptions(options.assume);
  const { config, warnings } = await loadConfigOrThrow(options.config, { cwd: ctx.cwd });
  for (const warning of warnings) ctx.output.err(formatDiagnostic(warning));

  const names = options.env !== undefined ? [options.env] : environmentNames(config);
  const reports: EnvironmentReport[] = names.map((name) => {
    const input = costInputFromEnvironment(resolveEnvironment(config, name), facts);
    const { prices, note } = pricesForOrAssumed(input.region);
    const estimate = estimateMonthlyCost(input, prices, assumptions);
    if (note) estimate.notes.push(note);
    return { estimate, recommendations: recommend(input, prices, assumptions, estimate) };
  });

  if (format === "json") ctx.output.json(toJsonDocument(reports));
  else {
    const lines = format === "md" ? renderMarkdown(reports) : renderTable(reports);
    for (const line of lines) ctx.output.out(line);
  }
  assertWithinBudget(reports.map((report) => report.estimate));
}

function chooseFormat(options: CostOptions): Format {
  if (options.json) return "json";
  const format = options.format ?? "table";
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format ${format} is not one of ${FORMATS.join(", ")}`, {
      fix: "use --format table, --format json or --format md",
    });
  }
  return format as Format;
}

function deploymentFacts(options: CostOptions): DeploymentFacts {
  // infra/terraform deploys both the functions and the task on arm64 (Graviton).
  const arch = options.arch ?? "arm64";
  if (arch !== "x86_64" && arch !== "arm64") {
    throw new UsageError(`--arch ${arch} is not x86_64 or arm64`, {
      fix: "use --arch x86_64 or --arch arm64",
    });
  }
  let natGateways = 0;
  if (options.nat !== undefined && options.nat !== false) {
    natGateways = options.nat === true ? 1 : Number(options.nat);
    if (!Number.isInteger(natGateways) || natGateways < 1) {
      throw new UsageError(
        `--nat ${String(options.nat)} must be a whole number of NAT gateways (1 or more)`,
        {
          fix: "use --nat for one gateway or --nat 3 for one per availability zone",
        },
      );
    }
  }
  return {
    architecture: arch as Architecture,
    network: {
      nat: natGateways > 0,
      natGateways,
      s3GatewayEndpoint: options.s3GatewayEndpoint ?? false,
    },
  };
}
