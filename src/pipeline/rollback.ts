/**
 * RollbackManager (the user's name): puts an environment back on an earlier version.
 *
 * - canRollback: is there an earlier successful deployment of another version whose artifacts still
 *   exist (`artifacts/<version>/manifest.json`, or every artifact the ledger recorded for it)?
 * - createRollbackPlan: from-version, to-version and the terraform plan summary of going back.
 * - rollback: redeploys that version through the EnvironmentManager (the same plan/apply a deploy
 *   runs, with the old version's artifacts) and records it in the ledger with `rollbackOf`.
 */
import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { artifactsAvailable } from "./artifacts.ts";
import type { DeployResult, EnvironmentManager } from "./environment-manager.ts";
import type { RollbackCapability } from "./error-handler.ts";
import { PipelineError } from "./errors.ts";
import type { DeploymentLedger, DeploymentRecord } from "./ledger.ts";
import type { PlanSummary } from "./plan-summary.ts";

export interface RollbackManagerOptions {
  manager: EnvironmentManager;
  ledger: DeploymentLedger;
  /** Where `artifacts/<version>/` live; null skips the artifact check (e.g. a local-only setup). */
  artifacts: BlobStore | null;
}

export interface RollbackOptions {
  /** Roll back to this version (default: the newest earlier successful one). */
  to?: string;
  actor?: string;
}

export interface RollbackCheck {
  possible: boolean;
  reason: string;
  fromVersion?: string;
  toVersion?: string;
  /** The deployment being rolled back (the newest one). */
  from?: DeploymentRecord;
  /** The successful deployment whose version is restored. */
  target?: DeploymentRecord;
}

export interface RollbackPlan {
  env: string;
  fromVersion: string;
  toVersion: string;
  target: DeploymentRecord;
  summary: PlanSummary;
}

export interface RollbackResult {
  env: string;
  fromVersion: string;
  toVersion: string;
  deploy: DeployResult;
}

export class RollbackManager {
  private readonly manager: EnvironmentManager;
  private readonly ledger: DeploymentLedger;
  private readonly artifacts: BlobStore | null;

  constructor(options: RollbackManagerOptions) {
    this.manager = options.manager;
    this.ledger = options.ledger;
    this.artifacts = options.artifacts;
  }

  async canRollback(env: string, options: RollbackOptions = {}): Promise<RollbackCheck> {
    return this.check(env, options);
  }

  async createRollbackPlan(env: string, options: RollbackOptions = {}): Promise<RollbackPlan> {
    const check = await this.requirePossible(env, options);
    const plan = await this.manager.plan(env, { version: check.toVersion });
    return {
      env,
      fromVersion: check.fromVersion,
      toVersion: check.toVersion,
      target: check.target,
      summary: plan.summary,
    };
  }

  async rollback(env: string, options: RollbackOptions = {}): Promise<RollbackResult> {
    const check = await this.requirePossible(env, options);
    return this.redeploy(env, check, options.actor);
  }

  /** The rollback the error handler runs after `failed` (the newest record) failed. */
  forFailedDeployment(failed: DeploymentRecord): RollbackCapability {
    return {
      canRollback: async (env) => {
        const check = await this.check(env, {}, failed);
        return {
          possible: check.possible,
          reason: check.reason,
          ...(check.toVersion ? { toVersion: check.toVersion } : {}),
        };
      },
      rollback: async (env, { actor }) => {
        const check = await this.check(env, {}, failed);
        if (!check.possible || !check.target || !check.toVersion) {
          throw new PipelineError("HBS-DEP-004", check.reason);
        }
        const done = await this.redeploy(
          env,
          {
            ...check,
            fromVersion: failed.version,
            toVersion: check.toVersion,
            target: check.target,
            from: failed,
          },
          actor,
        );
        return { toVersion: done.toVersion };
      },
    };
  }

  private async redeploy(
    env: string,
    check: RollbackCheck & { fromVersion: string; toVersion: string; target: DeploymentRecord },
    actor: string | undefined,
  ): Promise<RollbackResult> {
    try {
      const deploy = await this.manager.deploy(env, {
        version: check.toVersion,
        artifacts: check.target.artifacts,
        autoRollback: false,
        ...(check.from ? { rollbackOf: check.from.id } : {}),
        ...(actor ? { actor } : {}),
      });
      return { env, fromVersion: check.fromVersion, toVersion: check.toVersion, deploy };
    } catch (error) {
      throw new PipelineError(
        "HBS-DEP-005",
        `rollback of ${env} from ${check.fromVersion} to ${check.toVersion} failed: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  private async requirePossible(
    env: string,
    options: RollbackOptions,
  ): Promise<RollbackCheck & { fromVersion: string; toVersion: string; target: DeploymentRecord }> {
    const check = await this.check(env, options);
    if (!check.possible || !check.target || !check.toVersion) {
      throw new PipelineError(options.to ? "HBS-DEP-008" : "HBS-DEP-004", check.reason);
    }
    return {
      ...check,
      fromVersion: check.fromVersion ?? "(none)",
      toVersion: check.toVersion,
      target: check.target,
    };
  }

  private async check(
    env: string,
    options: RollbackOptions,
    current?: DeploymentRecord,
  ): Promise<RollbackCheck> {
    let records: DeploymentRecord[];
    try {
      records = newestFirst(await this.ledger.list(env));
    } catch (error) {
      throw new PipelineError("HBS-INF-007", `cannot read the deployment ledger: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    const from = current ?? records[0];
    if (!from) return { possible: false, reason: `the ledger has no deployments of ${env}` };
    const candidates = records.filter(
      (record) =>
        record.status === "succeeded" &&
        record.version !== from.version &&
        (options.to === undefined || record.version === options.to),
    );
    if (candidates.length === 0) {
      return {
        possible: false,
        fromVersion: from.version,
        from,
        reason: options.to
          ? `${options.to} was never deployed successfully to ${env}`
          : `no earlier successful deployment of a version other than ${from.version} in ${env}`,
      };
    }
    const missing: string[] = [];
    for (const target of candidates) {
      const availability = this.artifacts
        ? await artifactsAvailable(this.artifacts, target.version, target.artifacts)
        : { available: true, reason: "artifact check skipped" };
      if (availability.available) {
        return {
          possible: true,
          fromVersion: from.version,
          toVersion: target.version,
          from,
          target,
          reason: `${target.version} deployed successfully at ${target.finished ?? target.started}; ${availability.reason}`,
        };
      }
      missing.push(`${target.version}: ${availability.reason}`);
    }
    return {
      possible: false,
      fromVersion: from.version,
      from,
      reason: `the artifacts of every earlier version are gone (${missing.join("; ")})`,
    };
  }
}

/**
 * The current state of each deployment, newest first: a deployment appends in_progress and then its
 * outcome under one id, and the ledger lists records in append order, so the last record per id wins.
 */
export function newestFirst(records: readonly DeploymentRecord[]): DeploymentRecord[] {
  const byId = new Map<string, DeploymentRecord>();
  for (const record of records) {
    byId.delete(record.id);
    byId.set(record.id, record);
  }
  return [...byId.values()].reverse();
}
