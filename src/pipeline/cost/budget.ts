import { BudgetExceededError } from "./errors.ts";
import type { CostEstimate } from "./estimate.ts";

export interface BudgetBreach {
  env: string;
  totalUsd: number;
  budgetUsd: number;
  overByUsd: number;
}

/** The environments whose estimate exceeds a non-zero `budget_usd`. */
export function budgetBreaches(estimates: readonly CostEstimate[]): BudgetBreach[] {
  return estimates
    .filter((estimate) => estimate.overBudget)
    .map((estimate) => ({
      env: estimate.env,
      totalUsd: estimate.totalUsd,
      budgetUsd: estimate.budgetUsd,
      overByUsd: Math.round((estimate.totalUsd - estimate.budgetUsd) * 100) / 100,
    }));
}

export function budgetWarning(breach: BudgetBreach): string {
  return `${breach.env}: estimated $${breach.totalUsd.toFixed(2)}/month exceeds budget_usd $${breach.budgetUsd.toFixed(2)} by $${breach.overByUsd.toFixed(2)}`;
}

/** Throws BudgetExceededError (exit 3) when any estimate is over its budget. */
export function assertWithinBudget(estimates: readonly CostEstimate[]): void {
  const breaches = budgetBreaches(estimates);
  if (breaches.length === 0) return;
  throw new BudgetExceededError(
    breaches.map((breach) => breach.env),
    `over budget: ${breaches.map(budgetWarning).join("; ")}`,
    {
      fix: "apply the recommendations above, lower the schedule frequency or resources, or raise environments.<env>.budget_usd in config.yaml",
    },
  );
}
