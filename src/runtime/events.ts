import type { StoredPlan } from "../mirror/prepare.ts";
import type { RunReport } from "../mirror/report.ts";
import type { MirrorState } from "../mirror/state.ts";
import type { NotifyEvent } from "../notify/index.ts";

/** What the runtime needs of src/notify (NotificationManager satisfies it; it never throws). */
export interface Notifier {
  send(event: NotifyEvent): Promise<unknown>;
}

export const silentNotifier: Notifier = { send: async () => undefined };

export function syncStartedEvent(environment: string, plan: StoredPlan, runner: string): NotifyEvent {
  return {
    type: "sync_started",
    environment,
    runId: plan.runId,
    plannedBottles: plan.transfers.length,
    plannedBytes: plan.totals.bytes,
    runner,
  };
}

export function upToDateEvent(environment: string, report: RunReport, state: MirrorState): NotifyEvent {
  const mirror = mirrorTotals(state);
  return {
    type: "up_to_date",
    environment,
    runId: report.runId,
    mirrorBottles: mirror.bottles,
    mirrorBytes: mirror.bytes,
    durationSeconds: seconds(report),
  };
}

export function syncSummaryEvent(
  environment: string,
  report: RunReport,
  state: MirrorState | null,
): NotifyEvent {
  const mirror = state ? mirrorTotals(state) : { bottles: 0, bytes: 0 };
  return {
    type: "sync_summary",
    environment,
    runId: report.runId,
    status: report.status,
    newBottles: report.counts.transferred,
    bytes: report.bytes.transferred,
    durationSeconds: seconds(report),
    failures: report.errors
      .slice(0, 20)
      .map((error) => ({ key: error.key || "unknown", message: error.message })),
    mirrorBottles: mirror.bottles,
    mirrorBytes: mirror.bytes,
  };
}

/** A run that failed before it had a report (index signature, dispatch, lost lock, …). */
export function failureEvent(environment: string, runId: string, message: string): NotifyEvent {
  return {
    type: "sync_summary",
    environment,
    runId,
    status: "failed",
    newBottles: 0,
    bytes: 0,
    durationSeconds: 0,
    failures: [{ key: "run", message }],
    mirrorBottles: 0,
    mirrorBytes: 0,
  };
}

/** True when the run changed nothing in the mirror (no bottle, manifest, API file, retirement). */
export function changedNothing(report: RunReport): boolean {
  const c = report.counts;
  return (
    report.status === "succeeded" &&
    c.transferred +
      c.adopted +
      c.manifestsStored +
      c.apiPublished +
      c.apiRemoved +
      c.superseded +
      c.pruned ===
      0
  );
}

function mirrorTotals(state: MirrorState): { bottles: number; bytes: number } {
  let bottles = 0;
  let bytes = 0;
  for (const entry of Object.values(state.entries)) {
    if (entry.supersededAt !== undefined) continue;
    bottles++;
    bytes += entry.size;
  }
  return { bottles, bytes };
}

function seconds(report: RunReport): number {
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms / 100) / 10 : 0;
}
