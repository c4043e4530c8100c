/**
 * Summarises `terraform show -json <planfile>` (the JSON plan representation, format 1.x) into counts
 * the way terraform's own "Plan: N to add, N to change, N to destroy" line counts them: a replacement
 * (`["delete","create"]` or `["create","delete"]`) adds one and destroys one, and is also counted in
 * `replace`. `no-op` and `read` changes are left out. Pure.
 */
export type ResourceAction = "create" | "update" | "delete" | "replace";

export interface ResourceChange {
  address: string;
  action: ResourceAction;
}

export interface PlanSummary {
  add: number;
  change: number;
  destroy: number;
  replace: number;
  resources: ResourceChange[];
}

interface JsonPlan {
  resource_changes?: Array<{ address?: string; change?: { actions?: string[] } }>;
}

export function emptySummary(): PlanSummary {
  return { add: 0, change: 0, destroy: 0, replace: 0, resources: [] };
}

export function actionOf(actions: readonly string[]): ResourceAction | undefined {
  const set = new Set(actions);
  if (set.has("create") && set.has("delete")) return "replace";
  if (set.has("create")) return "create";
  if (set.has("delete")) return "delete";
  if (set.has("update")) return "update";
  return undefined;
}

export function summarisePlan(plan: unknown): PlanSummary {
  const summary = emptySummary();
  const changes = (plan as JsonPlan | null)?.resource_changes ?? [];
  for (const resource of changes) {
    const action = actionOf(resource.change?.actions ?? []);
    if (!action) continue;
    summary.resources.push({ address: resource.address ?? "(unknown)", action });
    if (action === "create") summary.add += 1;
    else if (action === "update") summary.change += 1;
    else if (action === "delete") summary.destroy += 1;
    else {
      summary.replace += 1;
      summary.add += 1;
      summary.destroy += 1;
    }
  }
  return summary;
}

/** `2 to add, 0 to change, 2 to destroy (2 replaced)`, like terraform's plan line. */
export function describeSummary(summary: PlanSummary): string {
  const base = `${summary.add} to add, ${summary.change} to change, ${summary.destroy} to destroy`;
  return summary.replace > 0 ? `${base} (${summary.replace} replaced)` : base;
}
