import { errorMessage } from "../shared/errors.ts";
import type { DeploymentSummary, DeploymentsSummary, EnvironmentDeployments } from "./types.ts";

/** Statuses of a deployment whose apply completed (src/pipeline/ledger.ts). */
const APPLIED = new Set(["verified", "applied", "succeeded"]);

/** Deployments listed per environment on the page. */
export const DEPLOYMENTS_PER_ENVIRONMENT = 15;

/**
 * What the status page needs from the deployment ledger (src/pipeline/ledger.ts `DeploymentLedger`
 * satisfies it): the records of one environment in append order (oldest first), and optionally the
 * environments it has records for. Records are read defensively: a field of an unexpected type is
 * shown as absent, never trusted.
 */
export interface StatusLedger {
  list(env: string): Promise<readonly unknown[]>;
  environments?(): Promise<readonly string[]>;
}

/**
 * The ledger per environment, newest first, rollbacks marked with the version they rolled back.
 * Environments: `explicit` when given; otherwise `configured` (config.yaml's, in file order) followed by
 * any other environment the ledger has records for.
 *
 * A deployment appends `in_progress` and then its outcome under one id; the last record per id is its
 * current state (as RollbackManager reads it), so each deployment is listed once.
 */
export async function collectDeployments(
  ledger: StatusLedger,
  environments: { explicit?: readonly string[]; configured?: readonly string[] },
  problems: string[],
): Promise<DeploymentsSummary> {
  const names = environments.explicit ? [...environments.explicit] : [...(environments.configured ?? [])];
  if (!environments.explicit && ledger.environments) {
    try {
      for (const env of await ledger.environments()) if (!names.includes(env)) names.push(env);
    } catch (error) {
      problems.push(`deployment ledger: ${errorMessage(error)}`);
    }
  }
  const result: EnvironmentDeployments[] = [];
  for (const env of names) {
    let raw: readonly unknown[];
    try {
      raw = await ledger.list(env);
    } catch (error) {
      problems.push(`deployment ledger (${env}): ${errorMessage(error)}`);
      raw = [];
    }
    const byId = new Map<string, DeploymentSummary>();
    for (const record of raw.map(parseDeploymentRecord)) {
      if (record === null) continue;
      byId.delete(record.id);
      byId.set(record.id, record);
    }
    const records = [...byId.values()].reverse();
    const versionById = new Map(records.map((record) => [record.id, record.version]));
    for (const record of records) {
      if (record.rollbackOf !== null) record.rollbackOfVersion = versionById.get(record.rollbackOf) ?? null;
    }
    result.push({
      env,
      // verified (smoke-tested), applied (no smoke test yet), succeeded (ledgers written before the smoke test)
      current: records.find((record) => APPLIED.has(record.status))?.version ?? null,
      records: records.slice(0, DEPLOYMENTS_PER_ENVIRONMENT),
      total: records.length,
    });
  }
  return { environments: result };
}

/** One ledger record as the page shows it; null when it has no id or version. */
export function parseDeploymentRecord(value: unknown): DeploymentSummary | null {
  if (!isRecord(value)) return null;
  const id = text(value.id);
  const version = text(value.version);
  if (id === "" || version === "") return null;
  const summary = isRecord(value.changeSummary) ? value.changeSummary : null;
  return {
    id,
    version,
    status: text(value.status) || "unknown",
    startedAt: iso(value.started ?? value.startedAt),
    finishedAt: iso(value.finished ?? value.finishedAt),
    actor: text(value.actor),
    rollbackOf: text(value.rollbackOf) || null,
    rollbackOfVersion: null,
    changes:
      summary === null
        ? null
        : { add: whole(summary.add), change: whole(summary.change), destroy: whole(summary.destroy) },
    errors: Array.isArray(value.errors) ? value.errors.map((error) => String(error)) : [],
  };
}

function text(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

function iso(value: unknown): string {
  if (typeof value !== "string") return "";
  const time = Date.parse(value);
  return Number.isFinite(time) ? new Date(time).toISOString() : "";
}

function whole(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
