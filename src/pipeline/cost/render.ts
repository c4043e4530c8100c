import { type BudgetBreach, budgetBreaches, budgetWarning } from "./budget.ts";
import type { CostEstimate } from "./estimate.ts";
import type { Recommendation } from "./types.ts";

/** One environment's estimate and the advice for it: what `hbsync cost` prints. */
export interface EnvironmentReport {
  estimate: CostEstimate;
  recommendations: Recommendation[];
}

export interface CostReportDocument {
  pricesAsOf: string;
  currency: "USD";
  totalUsd: number;
  overBudget: BudgetBreach[];
  environments: Array<
    Omit<CostEstimate, "totalMicros" | "lineItems"> & {
      lineItems: Array<Omit<CostEstimate["lineItems"][number], "costMicros">>;
      recommendations: Recommendation[];
    }
  >;
}

/** `--format json`: one document for every environment. */
export function toJsonDocument(reports: readonly EnvironmentReport[]): CostReportDocument {
  const estimates = reports.map((report) => report.estimate);
  return {
    pricesAsOf: estimates[0]?.pricesAsOf ?? "",
    currency: "USD",
    totalUsd: Math.round(estimates.reduce((sum, estimate) => sum + estimate.totalMicros, 0) / 10_000) / 100,
    overBudget: budgetBreaches(estimates),
    environments: reports.map(({ estimate, recommendations }) => {
      const { totalMicros: _micros, lineItems, ...rest } = estimate;
      return {
        ...rest,
        lineItems: lineItems.map(({ costMicros: _cost, ...item }) => ({
          ...item,
          costUsd: roundCents(item.costUsd),
        })),
        recommendations,
      };
    }),
  };
}

/** `--format table`: aligned plain text for a terminal. */
export function renderTable(reports: readonly EnvironmentReport[]): string[] {
  const lines: string[] = [];
  for (const { estimate, recommendations } of reports) {
    lines.push(
      `${estimate.env} (${estimate.region}): ${money(estimate.totalUsd)}/month${budgetText(estimate)}`,
    );
    const rows = [
      ["Service", "Item", "Quantity", "Unit", "Unit price", "Cost"],
      ...estimate.lineItems.map((item) => [
        item.service,
        item.item,
        quantity(item.quantity),
        item.unit,
        unitPrice(item.unitPriceUsd),
        cost(item.costUsd),
      ]),
      ["Total", "", "", "", "", money(estimate.totalUsd)],
    ];
    const widths =
      rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
    for (const row of rows) {
      const cells = row.map((cell, column) =>
        column >= 2 && column !== 3 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      );
      lines.push(`  ${cells.join("  ").trimEnd()}`);
    }
    lines.push("  Usage:");
    for (const note of estimate.notes) lines.push(`    ${note}`);
    lines.push(`    ${initialSyncText(estimate)}`);
    if (recommendations.length > 0) {
      lines.push("  Recommendations:");
      for (const rec of recommendations) {
        lines.push(`    - ${rec.title}: save ≈ ${money(rec.savingUsd)}/month. ${rec.detail}`);
        lines.push(`      how: ${rec.action}`);
      }
    } else {
      lines.push("  Recommendations: none for this configuration");
    }
    lines.push("");
  }
  lines.push("Assumptions (the same for every environment; override with --assume key=value):");
  for (const a of reports[0]?.estimate.assumptions ?? [])
    lines.push(`  ${a.key} = ${a.value}  (${a.description})`);
  lines.push(...priceFooter(reports));
  for (const breach of budgetBreaches(reports.map((report) => report.estimate))) {
    lines.push(`WARNING: ${budgetWarning(breach)}`);
  }
  return lines;
}

/** `--format md`: GitHub-flavoured Markdown for $GITHUB_STEP_SUMMARY. */
export function renderMarkdown(reports: readonly EnvironmentReport[]): string[] {
  const estimates = reports.map((report) => report.estimate);
  const lines: string[] = ["## Monthly cost estimate", ""];
  for (const breach of budgetBreaches(estimates)) {
    lines.push("> [!WARNING]", `> ${escape(budgetWarning(breach))}`, "");
  }
  lines.push("| Environment | Region | Estimate / month | Budget | Status |", "|---|---|--:|--:|---|");
  for (const estimate of estimates) {
    const status =
      estimate.budgetUsd === 0 ? "no budget" : estimate.overBudget ? "⚠️ over budget" : "✅ within budget";
    const budget = estimate.budgetUsd === 0 ? "—" : money(estimate.budgetUsd);
    lines.push(
      `| ${estimate.env} | ${estimate.region} | ${money(estimate.totalUsd)} | ${budget} | ${status} |`,
    );
  }
  lines.push("");
  for (const { estimate, recommendations } of reports) {
    lines.push(`### ${estimate.env} (${estimate.region}): ${money(estimate.totalUsd)}/month`, "");
    lines.push("| Service | Item | Quantity | Unit | Unit price | Cost |", "|---|---|--:|---|--:|--:|");
    for (const item of estimate.lineItems) {
      lines.push(
        `| ${item.service} | ${escape(item.item)} | ${quantity(item.quantity)} | ${item.unit} | ${unitPrice(item.unitPriceUsd)} | ${cost(item.costUsd)} |`,
      );
    }
    lines.push(`| **Total** | | | | | **${money(estimate.totalUsd)}** |`, "");
    for (const note of estimate.notes) lines.push(`- ${escape(note)}`);
    lines.push(`- ${escape(initialSyncText(estimate))}`, "");
    if (recommendations.length > 0) {
      lines.push("**Recommendations**", "");
      for (const rec of recommendations) {
        lines.push(
          `- **${escape(rec.title)}** — save ≈ ${money(rec.savingUsd)}/month. ${escape(rec.detail)} How: ${escape(rec.action)}.`,
        );
      }
      lines.push("");
    }
  }
  lines.push("<details><summary>Assumptions (override with <code>--assume key=value</code>)</summary>", "");
  lines.push("| Assumption | Value | Meaning |", "|---|--:|---|");
  for (const a of reports[0]?.estimate.assumptions ?? []) {
    lines.push(`| \`${a.key}\` | ${a.value} | ${escape(a.description)} |`);
  }
  lines.push("", "</details>", "");
  lines.push(...priceFooter(reports));
  return lines;
}

function priceFooter(reports: readonly EnvironmentReport[]): string[] {
  const asOf = reports[0]?.estimate.pricesAsOf ?? "";
  return [
    `Prices: AWS on-demand list prices in USD as of ${asOf} (sources in docs/cost.md); free tiers not applied; an estimate, not a bill.`,
  ];
}

function budgetText(estimate: CostEstimate): string {
  if (estimate.budgetUsd === 0) return "";
  return estimate.overBudget
    ? ` — OVER budget ${money(estimate.budgetUsd)}`
    : ` — within budget ${money(estimate.budgetUsd)}`;
}

function initialSyncText(estimate: CostEstimate): string {
  const { gb, worker, costUsd } = estimate.initialSync;
  return `first full sync (once, not in the monthly total): ${quantity(gb)} GB on ${worker === "ecs" ? "ECS Fargate" : "the worker Lambda"}, ≈ ${money(costUsd)}`;
}

function roundCents(usd: number): number {
  return Math.round(usd * 100) / 100;
}

function money(usd: number): string {
  return `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function cost(usd: number): string {
  return usd > 0 && usd < 0.005 ? "<$0.01" : money(usd);
}

function quantity(value: number): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: value >= 100 ? 1 : 4 });
}

function unitPrice(usd: number): string {
  return `$${usd.toFixed(10).replace(/0+$/, "").replace(/\.$/, "")}`;
}

function escape(text: string): string {
  return text.replace(/\|/g, "\\|");
}
