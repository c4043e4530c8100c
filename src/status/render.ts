import { barChart, niceBytes, niceCount } from "./charts.ts";
import {
  escapeHtml as e,
  humanBytes,
  humanCount,
  humanDuration,
  humanMilliseconds,
  humanTime,
  usd,
} from "./format.ts";
import type {
  CostsSummary,
  DeploymentSummary,
  DeploymentsSummary,
  RunDetail,
  RunSummary,
  StatusModel,
} from "./types.ts";

export interface RenderOptions {
  /** Where the stylesheet is, relative to the page (default `status.css`). */
  cssHref?: string;
  /** Where the JSON document is, relative to the page (default `status.json`). */
  jsonHref?: string;
}

/**
 * The status page: one HTML document, no JavaScript, charts as inline SVG, a captioned table beside
 * every chart. Every string that comes from data (formula names, error messages, versions, actors) is
 * escaped. Sizes are shown in binary units with the exact byte count in `data-bytes` and `title`; times
 * are `<time datetime="ISO">`.
 */
export function renderStatusPage(model: StatusModel, options: RenderOptions = {}): string {
  const cssHref = options.cssHref ?? "status.css";
  const jsonHref = options.jsonHref ?? "status.json";
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Homebrew mirror status: ${e(model.health.status)}</title>`,
    `<link rel="stylesheet" href="${e(cssHref)}">`,
    `<link rel="alternate" type="application/json" href="${e(jsonHref)}" title="Status as JSON">`,
    "</head>",
    "<body>",
    '<a class="skip" href="#main">Skip to the status</a>',
    '<header class="page-header">',
    "<h1>Homebrew mirror status</h1>",
    `<p class="location">Mirror <code>${e(model.location)}</code> · generated ${time(model.generatedAt)}</p>`,
    healthBanner(model),
    "</header>",
    '<main id="main">',
    freshnessSection(model),
    bottlesSection(model),
    runsChartSection(model.runs.history),
    recentRunsSection(model.runs.recent, model.runs.total),
    deploymentsSection(model.deployments),
    costsSection(model.costs),
    problemsSection(model.problems),
    "</main>",
    '<footer class="page-footer">',
    `<p>Machine-readable: <a href="${e(jsonHref)}">status.json</a> (schema version ${model.schemaVersion}). Sizes in binary units (1 MiB = 1,048,576 bytes); times in UTC.</p>`,
    "</footer>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function healthBanner(model: StatusModel): string {
  const { status, reasons } = model.health;
  const label = status === "ok" ? "Healthy" : status === "warning" ? "Warning" : "Critical";
  const detail = reasons.length === 0 ? "the mirror is fresh and the last run succeeded" : reasons.join("; ");
  return `<p class="health health-${e(status)}" data-health="${e(status)}"><strong>${label}</strong>: ${e(detail)}</p>`;
}

function freshnessSection(model: StatusModel): string {
  const f = model.freshness;
  const lastSync =
    f.lastSuccessfulSyncAt === null
      ? "never"
      : `${time(f.lastSuccessfulSyncAt, "last-sync")} (<span data-age-seconds="${f.ageSeconds ?? ""}">${e(humanDuration(f.ageSeconds ?? 0))} ago</span>)${f.stale ? ' <strong class="badge badge-failed">stale</strong>' : ""}`;
  const lastRun =
    f.lastRunAt === null
      ? "none"
      : `${time(f.lastRunAt, "last-run")} ${statusBadge(f.lastRunStatus ?? "unknown")}`;
  const source =
    f.upstreamIndexDateSource === "upstream-last-modified"
      ? "the upstream's Last-Modified"
      : f.upstreamIndexDateSource === "stored-mtime"
        ? "when it was stored in the mirror"
        : "";
  const upstream =
    f.upstreamIndexDate === null
      ? "unknown (no API published yet)"
      : `${time(f.upstreamIndexDate, "upstream-index")} <span class="muted">(${e(source)})</span>`;
  return section(
    "freshness",
    "Freshness",
    [
      '<dl class="facts">',
      `<div><dt>Last successful sync</dt><dd>${lastSync}</dd></div>`,
      `<div><dt>Last run</dt><dd>${lastRun}</dd></div>`,
      `<div><dt>Upstream index date</dt><dd>${upstream}</dd></div>`,
      `<div><dt>Stale after</dt><dd>${e(humanDuration(f.staleAfterSeconds))} without a successful sync</dd></div>`,
      "</dl>",
    ].join("\n"),
  );
}

function bottlesSection(model: StatusModel): string {
  const m = model.mirror;
  if (m.bottles === 0 && m.superseded.bottles === 0) {
    return section("bottles", "Bottles per tag", '<p class="empty">The mirror holds no bottles yet.</p>');
  }
  const rows = m.tags.map(
    (tag) =>
      `<tr data-tag="${e(tag.tag)}"><th scope="row"><code>${e(tag.tag)}</code></th><td class="num" data-count="${tag.bottles}">${humanCount(tag.bottles)}</td>${bytesCell(tag.bytes)}</tr>`,
  );
  return section(
    "bottles",
    "Bottles per tag",
    [
      '<table class="data" id="bottles-table">',
      "<caption>Current bottles and their size per bottle tag (superseded bottles kept for retention are counted apart)</caption>",
      '<thead><tr><th scope="col">Tag</th><th scope="col" class="num">Bottles</th><th scope="col" class="num">Size</th></tr></thead>',
      `<tbody>${rows.join("")}</tbody>`,
      "<tfoot>",
      `<tr data-tag="total"><th scope="row">All tags</th><td class="num" data-count="${m.bottles}">${humanCount(m.bottles)}</td>${bytesCell(m.bytes)}</tr>`,
      `<tr data-tag="superseded"><th scope="row">Superseded (kept for retention)</th><td class="num" data-count="${m.superseded.bottles}">${humanCount(m.superseded.bottles)}</td>${bytesCell(m.superseded.bytes)}</tr>`,
      "</tfoot>",
      "</table>",
      `<p class="muted">Also stored: ${humanCount(m.manifests)} manifests and ${humanCount(m.apiFiles)} API files.</p>`,
    ].join("\n"),
  );
}

function runsChartSection(history: readonly RunSummary[]): string {
  const bars = (value: (run: RunSummary) => number, text: (run: RunSummary) => string) =>
    history.map((run) => ({
      label: humanTime(run.startedAt).slice(5, 16),
      value: value(run),
      valueText: text(run),
      detail: `run ${run.runId}, ${run.status}`,
      failed: run.status === "failed",
    }));
  const span =
    history.length === 0
      ? "no runs yet"
      : `${history.length} run(s) from ${humanTime(history[0]?.startedAt ?? "")} to ${humanTime(history.at(-1)?.startedAt ?? "")}`;
  const bytesChart = barChart({
    id: "chart-bytes",
    title: "Bytes downloaded per run",
    description: `Bar chart of the bytes each run downloaded, oldest on the left; ${span}. Failed runs are hatched. The same numbers are in the table below.`,
    bars: bars(
      (run) => run.bytes,
      (run) => humanBytes(run.bytes),
    ),
    tickText: humanBytes,
    niceMax: niceBytes,
  });
  const bottlesChart = barChart({
    id: "chart-bottles",
    title: "Bottles downloaded per run",
    description: `Bar chart of the bottles each run downloaded, oldest on the left; ${span}. Failed runs are hatched. The same numbers are in the table below.`,
    bars: bars(
      (run) => run.bottles,
      (run) => humanCount(run.bottles),
    ),
    tickText: (value) => humanCount(value),
    niceMax: niceCount,
    integerTicks: true,
  });
  const rows = history.map(
    (run) =>
      `<tr data-run-id="${e(run.runId)}"><th scope="row">${time(run.startedAt)}</th><td>${statusBadge(run.status)}</td><td class="num" data-count="${run.bottles}">${humanCount(run.bottles)}</td>${bytesCell(run.bytes)}</tr>`,
  );
  return section(
    "runs-over-time",
    "Runs over time",
    [
      `<p class="muted">The last ${history.length} run(s), oldest first. <span class="legend"><span class="swatch swatch-ok" aria-hidden="true"></span> succeeded <span class="swatch swatch-failed" aria-hidden="true"></span> failed (hatched)</span></p>`,
      '<figure class="chart-figure">',
      bytesChart,
      "<figcaption>Bytes downloaded per run</figcaption>",
      "</figure>",
      '<figure class="chart-figure">',
      bottlesChart,
      "<figcaption>Bottles downloaded per run</figcaption>",
      "</figure>",
      "<details open>",
      "<summary>The charts as a table</summary>",
      '<table class="data" id="runs-chart-table">',
      "<caption>Bytes and bottles downloaded per run, oldest first (the data of both charts)</caption>",
      '<thead><tr><th scope="col">Started</th><th scope="col">Status</th><th scope="col" class="num">Bottles</th><th scope="col" class="num">Bytes</th></tr></thead>',
      `<tbody>${rows.join("") || '<tr><td colspan="4">No runs yet.</td></tr>'}</tbody>`,
      "</table>",
      "</details>",
    ].join("\n"),
  );
}

function recentRunsSection(recent: readonly RunDetail[], total: number): string {
  if (recent.length === 0) {
    return section("recent-runs", "Last runs", '<p class="empty">No run has been recorded yet.</p>');
  }
  const rows = recent.map(
    (run) =>
      `<tr data-run-id="${e(run.runId)}" class="${run.status === "failed" ? "row-failed" : ""}"><th scope="row"><code>${e(run.runId)}</code></th><td>${statusBadge(run.status)}</td><td>${time(run.startedAt)}</td><td class="num">${e(humanMilliseconds(run.durationMs))}</td><td class="num" data-count="${run.bottles}">${humanCount(run.bottles)}</td>${bytesCell(run.bytes)}<td class="num">${humanCount(run.kept)}</td><td class="num">${humanCount(run.pruned)}</td><td class="num" data-count="${run.errorCount}">${humanCount(run.errorCount)}</td></tr>`,
  );
  const withErrors = recent.filter((run) => run.errorCount > 0);
  const errorBlocks = withErrors.map((run) => {
    const items = run.errors.map(
      (error) =>
        `<li><code class="key">${e(error.key)}</code>${error.status === undefined ? "" : ` <span class="muted">HTTP ${error.status}</span>`}: ${e(error.message)}</li>`,
    );
    const more =
      run.errorCount > run.errors.length
        ? `<li class="muted">… and ${humanCount(run.errorCount - run.errors.length)} more in <code>_sync/runs/${e(run.runId)}.json</code></li>`
        : "";
    return `<section class="run-errors" data-run-id="${e(run.runId)}" aria-labelledby="errors-${e(slug(run.runId))}"><h3 id="errors-${e(slug(run.runId))}">Errors of run <code>${e(run.runId)}</code> (${humanCount(run.errorCount)})</h3><ul>${items.join("")}${more}</ul></section>`;
  });
  return section(
    "recent-runs",
    "Last runs",
    [
      `<p class="muted">The ${recent.length} newest of ${humanCount(total)} run report(s), newest first.</p>`,
      '<div class="scroll"><table class="data" id="recent-runs-table">',
      "<caption>The last runs: status, duration, what they downloaded and how many errors they hit</caption>",
      '<thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col" class="num">Duration</th><th scope="col" class="num">Bottles</th><th scope="col" class="num">Bytes</th><th scope="col" class="num">Unchanged</th><th scope="col" class="num">Pruned</th><th scope="col" class="num">Errors</th></tr></thead>',
      `<tbody>${rows.join("")}</tbody>`,
      "</table></div>",
      ...errorBlocks,
    ].join("\n"),
  );
}

function deploymentsSection(deployments: DeploymentsSummary | null): string {
  if (deployments === null) {
    return section(
      "deployments",
      "Deployments",
      '<p class="empty">No deployment ledger was given (<code>hbsync report --ledger DIR|s3://…</code>).</p>',
    );
  }
  if (deployments.environments.length === 0) {
    return section("deployments", "Deployments", '<p class="empty">The ledger has no environments.</p>');
  }
  const blocks = deployments.environments.map((env) => {
    const id = `deployments-${slug(env.env)}`;
    const current =
      env.current === null
        ? "no successful deployment"
        : `running <code data-current-version>${e(env.current)}</code>`;
    const rows = env.records.map(deploymentRow);
    return [
      `<section class="environment" data-env="${e(env.env)}" aria-labelledby="${e(id)}">`,
      `<h3 id="${e(id)}">${e(env.env)} <span class="muted">(${current})</span></h3>`,
      env.records.length === 0
        ? '<p class="empty">No deployments recorded.</p>'
        : [
            '<div class="scroll"><table class="data">',
            `<caption>Deployments of ${e(env.env)}, newest first${env.total > env.records.length ? ` (the ${env.records.length} newest of ${env.total})` : ""}; rollbacks are marked</caption>`,
            '<thead><tr><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Kind</th><th scope="col">Started</th><th scope="col" class="num">Duration</th><th scope="col">By</th><th scope="col">Changes</th></tr></thead>',
            `<tbody>${rows.join("")}</tbody>`,
            "</table></div>",
          ].join("\n"),
      "</section>",
    ].join("\n");
  });
  return section("deployments", "Deployments", blocks.join("\n"));
}

function deploymentRow(record: DeploymentSummary): string {
  const kind =
    record.rollbackOf === null
      ? "deploy"
      : `<strong class="badge badge-rollback">rollback</strong> of ${record.rollbackOfVersion === null ? `<code>${e(record.rollbackOf)}</code>` : `<code>${e(record.rollbackOfVersion)}</code>`}`;
  const seconds =
    record.startedAt && record.finishedAt
      ? (Date.parse(record.finishedAt) - Date.parse(record.startedAt)) / 1000
      : null;
  const changes =
    record.changes === null
      ? ""
      : `+${record.changes.add} ~${record.changes.change} −${record.changes.destroy}`;
  const errors =
    record.errors.length === 0
      ? ""
      : `<ul class="deploy-errors">${record.errors.map((error) => `<li>${e(error)}</li>`).join("")}</ul>`;
  return `<tr data-deployment-id="${e(record.id)}" data-rollback="${record.rollbackOf === null ? "false" : "true"}" class="${record.rollbackOf === null ? "" : "row-rollback"}"><th scope="row"><code>${e(record.version)}</code></th><td>${statusBadge(record.status)}${errors}</td><td>${kind}</td><td>${record.startedAt ? time(record.startedAt) : "unknown"}</td><td class="num">${seconds === null || !Number.isFinite(seconds) ? "" : e(humanDuration(seconds))}</td><td>${e(record.actor)}</td><td>${e(changes)}</td></tr>`;
}

function costsSection(costs: CostsSummary | null): string {
  if (costs === null) {
    return section(
      "costs",
      "Estimated monthly cost",
      '<p class="empty">No config was given (<code>hbsync report --config config.yaml</code>).</p>',
    );
  }
  const rows = costs.environments.map((env) => {
    const budget = env.budgetUsd > 0 ? usd(env.budgetUsd) : "none";
    const state =
      env.budgetUsd === 0 ? "" : env.overBudget ? statusBadge("over budget") : statusBadge("within budget");
    const services = env.services
      .filter((service) => service.costUsd > 0)
      .map((service) => `${e(service.service)} ${usd(service.costUsd)}`)
      .join(", ");
    return `<tr data-env="${e(env.env)}"><th scope="row">${e(env.env)}</th><td>${e(env.region)}</td><td>${env.worker === "ecs" ? "ECS Fargate" : "Lambda"}</td><td class="num" data-usd="${env.totalUsd}">${usd(env.totalUsd)}</td><td class="num">${budget} ${state}</td><td>${services}</td></tr>`;
  });
  const notes = costs.environments.flatMap((env) =>
    env.notes.map((note) => `<li>${e(env.env)}: ${e(note)}</li>`),
  );
  return section(
    "costs",
    "Estimated monthly cost",
    [
      `<p class="muted">From config.yaml with list prices as of ${e(costs.pricesAsOf)} (USD, before free tiers), as <code>hbsync cost</code> computes them.</p>`,
      '<div class="scroll"><table class="data" id="costs-table">',
      "<caption>Estimated monthly AWS cost per environment, with the largest services</caption>",
      '<thead><tr><th scope="col">Environment</th><th scope="col">Region</th><th scope="col">Sync worker</th><th scope="col" class="num">Per month</th><th scope="col" class="num">Budget</th><th scope="col">By service</th></tr></thead>',
      `<tbody>${rows.join("")}</tbody>`,
      `<tfoot><tr><th scope="row">All environments</th><td></td><td></td><td class="num" data-usd="${costs.totalUsd}">${usd(costs.totalUsd)}</td><td></td><td></td></tr></tfoot>`,
      "</table></div>",
      notes.length === 0 ? "" : `<ul class="notes">${notes.join("")}</ul>`,
    ].join("\n"),
  );
}

function problemsSection(problems: readonly string[]): string {
  if (problems.length === 0) return "";
  return section(
    "problems",
    "Files that could not be read",
    `<ul>${problems.map((problem) => `<li>${e(problem)}</li>`).join("")}</ul>`,
  );
}

function section(id: string, heading: string, body: string): string {
  return `<section id="${id}" aria-labelledby="${id}-heading">\n<h2 id="${id}-heading">${e(heading)}</h2>\n${body}\n</section>`;
}

function time(iso: string, name?: string): string {
  return `<time datetime="${e(iso)}"${name ? ` data-field="${e(name)}"` : ""}>${e(humanTime(iso))}</time>`;
}

function bytesCell(bytes: number): string {
  return `<td class="num" data-bytes="${bytes}" title="${humanCount(bytes)} bytes">${e(humanBytes(bytes))}</td>`;
}

function statusBadge(status: string): string {
  const tone =
    status === "succeeded" || status === "verified" || status === "within budget"
      ? "ok"
      : status === "failed" || status === "over budget"
        ? "failed"
        : "neutral";
  return `<span class="badge badge-${tone}" data-status="${e(status)}">${e(status)}</span>`;
}

/** An id-safe rendering of arbitrary text (ids are also escaped where used). */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "-");
}
