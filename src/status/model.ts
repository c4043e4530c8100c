import type { PipelineConfig } from "../config/types.ts";
import { planKey } from "../mirror/prepare.ts";
import { RUNS_PREFIX } from "../mirror/report.ts";
import { loadState, type MirrorState, readText } from "../mirror/state.ts";
import { errorMessage } from "../shared/errors.ts";
import type { BlobStat, BlobStore } from "../storage/blob-store.ts";
import { collectCosts } from "./costs.ts";
import { collectDeployments, type StatusLedger } from "./ledger-source.ts";
import {
  type Freshness,
  type HealthLevel,
  type MirrorSummary,
  type RunDetail,
  type RunError,
  type RunSummary,
  STATUS_SCHEMA_VERSION,
  type StatusModel,
  type TagSummary,
} from "./types.ts";

/** Runs drawn in the charts. */
export const HISTORY_RUNS = 30;
/** Runs listed with their errors. */
export const RECENT_RUNS = 10;
/** Errors listed per run (the page says how many more there were). */
export const MAX_ERRORS_PER_RUN = 20;
/** How far back to look for the last successful run when the last HISTORY_RUNS all failed. */
const MAX_REPORTS_SCANNED = 500;
export const DEFAULT_STALE_AFTER_SECONDS = 48 * 60 * 60;
const FORMULA_INDEX_KEY = "api/formula.jws.json";
const INTERNAL_PREFIX = "api/internal/packages.";

export interface CollectStatusOptions {
  store: BlobStore;
  /** The deployment ledger; without it the model has `deployments: null`. */
  ledger?: StatusLedger;
  /** config.yaml; without it the model has `costs: null`. Its environments name the ledger's too. */
  config?: PipelineConfig;
  /** Environments to show in the ledger section (default: the config's, then any other the ledger has). */
  environments?: string[];
  now: Date;
  /** Seconds without a successful sync after which the mirror is stale (default 48 h). */
  staleAfterSeconds?: number;
}

/** Reads the store (and ledger, and config) into the status model. Never writes anything. */
export async function collectStatus(options: CollectStatusOptions): Promise<StatusModel> {
  const { store, now } = options;
  const problems: string[] = [];
  const staleAfterSeconds = options.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS;

  const state = await loadState(store).catch((error: unknown) => {
    problems.push(`_sync/state.json: ${errorMessage(error)}`);
    return null;
  });
  const reports = await readRunReports(store, problems);
  const lastSuccess = reports.lastSuccess;
  const upstream = await upstreamIndexDate(store, lastSuccess?.runId ?? null);
  const newest = reports.newestFirst[0] ?? null;

  const ageSeconds =
    lastSuccess === null
      ? null
      : Math.max(0, Math.round((now.getTime() - Date.parse(lastSuccess.finishedAt)) / 1000));
  const freshness: Freshness = {
    lastSuccessfulSyncAt: lastSuccess?.finishedAt ?? null,
    lastSuccessfulRunId: lastSuccess?.runId ?? null,
    ageSeconds,
    staleAfterSeconds,
    stale: ageSeconds === null || ageSeconds > staleAfterSeconds,
    lastRunAt: newest?.finishedAt ?? null,
    lastRunStatus: newest?.status ?? null,
    upstreamIndexDate: upstream.date,
    upstreamIndexDateSource: upstream.source,
    stateUpdatedAt: state !== null && state.updatedAt !== new Date(0).toISOString() ? state.updatedAt : null,
  };

  const environments = {
    ...(options.environments ? { explicit: options.environments } : {}),
    ...(options.config ? { configured: Object.keys(options.config.environments) } : {}),
  };
  const deployments = options.ledger
    ? await collectDeployments(options.ledger, environments, problems)
    : null;
  const costs = options.config ? collectCosts(options.config, problems) : null;

  const runs = {
    total: reports.total,
    history: reports.newestFirst.slice(0, HISTORY_RUNS).reverse().map(summaryOf),
    recent: reports.newestFirst.slice(0, RECENT_RUNS),
  };
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    generatedAt: now.toISOString(),
    location: store.location,
    health: health(freshness, problems),
    freshness,
    mirror: summarizeMirror(state),
    runs,
    deployments,
    costs,
    problems,
  };
}

/** Bottles and bytes per tag, from the state's entries; superseded bottles are counted apart. */
export function summarizeMirror(state: MirrorState | null): MirrorSummary {
  const byTag = new Map<string, TagSummary>();
  const summary: MirrorSummary = {
    bottles: 0,
    bytes: 0,
    tags: [],
    superseded: { bottles: 0, bytes: 0 },
    manifests: Object.keys(state?.manifests ?? {}).length,
    apiFiles: Object.keys(state?.api ?? {}).length,
  };
  for (const entry of Object.values(state?.entries ?? {})) {
    if (entry.supersededAt !== undefined) {
      summary.superseded.bottles++;
      summary.superseded.bytes += entry.size;
      continue;
    }
    const tag = byTag.get(entry.tag) ?? { tag: entry.tag, bottles: 0, bytes: 0 };
    tag.bottles++;
    tag.bytes += entry.size;
    byTag.set(entry.tag, tag);
    summary.bottles++;
    summary.bytes += entry.size;
  }
  summary.tags = [...byTag.values()].sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  return summary;
}

function health(freshness: Freshness, problems: string[]): StatusModel["health"] {
  const reasons: string[] = [];
  let status: HealthLevel = "ok";
  const raise = (level: HealthLevel, reason: string): void => {
    reasons.push(reason);
    if (level === "critical" || status === "ok") status = level;
  };
  if (freshness.lastSuccessfulSyncAt === null) raise("critical", "no sync has succeeded yet");
  else if (freshness.stale) {
    raise(
      "critical",
      `the last successful sync is older than ${Math.round(freshness.staleAfterSeconds / 3600)} h`,
    );
  }
  if (freshness.lastRunStatus === "failed") raise("warning", "the last run failed");
  if (problems.length > 0) raise("warning", `${problems.length} file(s) could not be read`);
  return { status, reasons };
}

interface ReadReports {
  total: number;
  /** The newest run reports (at least HISTORY_RUNS when there are that many), newest first. */
  newestFirst: RunDetail[];
  lastSuccess: RunDetail | null;
}

/**
 * Lists `_sync/runs/`, newest first (by modification time, then key), and reads the newest
 * HISTORY_RUNS; if none of them succeeded, keeps reading older ones until one did (bounded).
 */
async function readRunReports(store: BlobStore, problems: string[]): Promise<ReadReports> {
  const listed: BlobStat[] = [];
  for await (const stat of store.list(RUNS_PREFIX)) {
    const name = stat.key.slice(RUNS_PREFIX.length);
    if (name.endsWith(".json") && !name.includes("/")) listed.push(stat);
  }
  listed.sort(
    (a, b) => b.modified.getTime() - a.modified.getTime() || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0),
  );

  const read: RunDetail[] = [];
  let lastSuccess: RunDetail | null = null;
  let scanned = 0;
  for (const stat of listed) {
    if (scanned >= MAX_REPORTS_SCANNED) break;
    if (read.length >= HISTORY_RUNS && lastSuccess !== null) break;
    scanned++;
    const detail = await readRunReport(store, stat.key, problems);
    if (detail === null) continue;
    if (read.length < HISTORY_RUNS) read.push(detail);
    if (
      detail.status === "succeeded" &&
      (lastSuccess === null || detail.finishedAt > lastSuccess.finishedAt)
    ) {
      lastSuccess = detail;
    }
  }
  read.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  return { total: listed.length, newestFirst: read, lastSuccess };
}

async function readRunReport(store: BlobStore, key: string, problems: string[]): Promise<RunDetail | null> {
  let value: unknown;
  try {
    const text = await readText(store, key);
    if (text === null) return null;
    value = JSON.parse(text);
  } catch (error) {
    problems.push(`${key}: ${errorMessage(error)}`);
    return null;
  }
  const detail = parseRunReport(value);
  if (detail === "dry-run") return null;
  if (detail === null) problems.push(`${key}: not a run report`);
  return detail;
}

/** A run report (`_sync/runs/<runId>.json`) as the page shows it; null when it is not one. */
export function parseRunReport(value: unknown): RunDetail | "dry-run" | null {
  if (!isRecord(value) || typeof value.runId !== "string") return null;
  if (value.status === "dry-run") return "dry-run";
  if (value.status !== "succeeded" && value.status !== "failed") return null;
  const startedAt = isoOrNull(value.startedAt);
  const finishedAt = isoOrNull(value.finishedAt);
  if (startedAt === null || finishedAt === null) return null;
  const counts = isRecord(value.counts) ? value.counts : {};
  const bytes = isRecord(value.bytes) ? value.bytes : {};
  const rawErrors = Array.isArray(value.errors) ? value.errors : [];
  const errors: RunError[] = [];
  for (const raw of rawErrors.slice(0, MAX_ERRORS_PER_RUN)) {
    if (!isRecord(raw)) continue;
    const error: RunError = { key: String(raw.key ?? ""), message: String(raw.message ?? "") };
    if (typeof raw.status === "number") error.status = raw.status;
    errors.push(error);
  }
  return {
    runId: value.runId,
    status: value.status,
    startedAt,
    finishedAt,
    durationMs: Math.max(0, Date.parse(finishedAt) - Date.parse(startedAt)),
    tags: Array.isArray(value.tags) ? value.tags.filter((tag): tag is string => typeof tag === "string") : [],
    bottles: count(counts.transferred),
    bytes: count(bytes.transferred),
    adopted: count(counts.adopted),
    kept: count(counts.kept),
    failed: count(counts.failed),
    pruned: count(counts.pruned),
    errorCount: rawErrors.length,
    errors,
  };
}

function summaryOf(detail: RunDetail): RunSummary {
  const { errors: _errors, ...summary } = detail;
  return summary;
}

/**
 * The upstream index date: the Last-Modified header recorded in the last successful run's plan for
 * `api/formula.jws.json` (else of the first `api/internal/packages.<tag>`), else formula.jws.json's
 * modification time in the store.
 */
async function upstreamIndexDate(
  store: BlobStore,
  runId: string | null,
): Promise<{ date: string | null; source: Freshness["upstreamIndexDateSource"] }> {
  if (runId !== null) {
    const text = await readText(store, planKey(runId)).catch(() => null);
    const plan = text === null ? null : safeJson(text);
    const files = isRecord(plan) && Array.isArray(plan.api) ? plan.api : [];
    // formula.jws.json, else (an upstream that serves only brew 6's files) the first per-tag file.
    const entry =
      files.find(
        (file): file is Record<string, unknown> => isRecord(file) && file.key === FORMULA_INDEX_KEY,
      ) ??
      files.find(
        (file): file is Record<string, unknown> =>
          isRecord(file) && typeof file.key === "string" && file.key.startsWith(INTERNAL_PREFIX),
      );
    const date = typeof entry?.lastModified === "string" ? Date.parse(entry.lastModified) : Number.NaN;
    if (Number.isFinite(date))
      return { date: new Date(date).toISOString(), source: "upstream-last-modified" };
  }
  const stat = await store.stat(FORMULA_INDEX_KEY).catch(() => null);
  if (stat !== null) return { date: stat.modified.toISOString(), source: "stored-mtime" };
  return { date: null, source: null };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isoOrNull(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const time = Date.parse(value);
  return Number.isFinite(time) ? new Date(time).toISOString() : null;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
