import { HbsyncError, type HbsyncErrorOptions } from "../../shared/errors.ts";

/** A cost estimate could not be made (unknown region, bad assumption override, …). */
export class CostError extends HbsyncError {
  constructor(message: string, options: HbsyncErrorOptions = {}) {
    super(message, options);
    this.name = "CostError";
  }
}

/** An estimate exceeds the environment's `budget_usd` (exit 3). */
export class BudgetExceededError extends CostError {
  readonly environments: readonly string[];

  constructor(environments: readonly string[], message: string, options: { fix?: string } = {}) {
    super(message, { ...options, kind: "budget" });
    this.name = "BudgetExceededError";
    this.environments = environments;
  }
}
