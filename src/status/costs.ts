import { environmentNames, resolveEnvironment } from "../config/resolve.ts";
import type { PipelineConfig } from "../config/types.ts";
import { type Assumptions, resolveAssumptions } from "../pipeline/cost/assumptions.ts";
import { estimateMonthlyCost, microsToUsd } from "../pipeline/cost/estimate.ts";
import { costInputFromEnvironment, type DeploymentFacts } from "../pipeline/cost/from-config.ts";
import { PRICES_AS_OF, pricesForOrAssumed } from "../pipeline/cost/prices.ts";
import { errorMessage } from "../shared/errors.ts";
import type { CostsSummary, EnvironmentCost } from "./types.ts";

export interface CostOptions {
  facts?: DeploymentFacts;
  assumptions?: Assumptions;
}

/**
 * The monthly estimate of every environment in config.yaml, exactly as `hbsync cost` computes it
 * (same input mapping, prices and default assumptions), reduced to a total and a cost per service.
 * An environment that cannot be estimated is left out and named in `problems`.
 */
export function collectCosts(
  config: PipelineConfig,
  problems: string[],
  options: CostOptions = {},
): CostsSummary {
  const assumptions = options.assumptions ?? resolveAssumptions([]);
  const environments: EnvironmentCost[] = [];
  let totalMicros = 0;
  let pricesAsOf = PRICES_AS_OF;
  for (const name of environmentNames(config)) {
    try {
      const input = costInputFromEnvironment(resolveEnvironment(config, name), options.facts);
      const { prices, note } = pricesForOrAssumed(input.region);
      const estimate = estimateMonthlyCost(input, prices, assumptions);
      pricesAsOf = estimate.pricesAsOf;
      const perService = new Map<string, number>();
      for (const line of estimate.lineItems) {
        perService.set(line.service, (perService.get(line.service) ?? 0) + line.costMicros);
      }
      totalMicros += estimate.totalMicros;
      environments.push({
        env: estimate.env,
        region: estimate.region,
        totalUsd: estimate.totalUsd,
        budgetUsd: estimate.budgetUsd,
        overBudget: estimate.overBudget,
        worker: estimate.usage.worker,
        services: [...perService.entries()]
          .map(([service, micros]) => ({ service, costUsd: microsToUsd(micros) }))
          .sort((a, b) => b.costUsd - a.costUsd || (a.service < b.service ? -1 : 1)),
        notes: note ? [note] : [],
      });
    } catch (error) {
      problems.push(`cost estimate (${name}): ${errorMessage(error)}`);
    }
  }
  return { currency: "USD", pricesAsOf, totalUsd: microsToUsd(totalMicros), environments };
}
