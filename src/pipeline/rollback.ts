/**
 * RollbackManager (the user's name): puts an environment back on an earlier version.
 *
 * - "from" is what the environment runs: the newest deployment that got as far as applying (a deploy
 *   that failed before terraform apply — an upload, an image push, a rejected approval — changed
 *   nothing and is not "from"). With `expectCurrent`, the rollback refuses unless that is the version
 *   the caller means to undo (HBS-DEP-009), and does nothing when that version never got applied.
 * - The target is the newest *verified* deployment (applied and smoke-tested) of another version whose
 *   artifacts still exist (`artifacts/<version>/manifest.json`, or every artifact the ledger recorded).
 * - rollback: checks out the git revision of infra/ and config.yaml the target recorded (a worktree),
 *   and redeploys the target's version from there through the EnvironmentManager — the same plan,
 *   apply and smoke test a deploy runs — recorded in the ledger with `rollbackOf`. So a deploy broken by
 *   a Terraform or config change is undone too, not only its artifact_version.
 * - createRollbackPlan: the same, plan only.
 */
import { errorMessage, HbsyncError } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { artifactsAvailable } from "./artifacts.ts";
import type { DeployResult, EnvironmentManager } from "./environment-manager.ts";
import type { RollbackCapability } from "./error-handler.ts";
import { PipelineError } from "./errors.ts";
import { currentDeployment, type DeploymentLedger, type DeploymentRecord, reachedApply } from "./ledger.ts";
import type { PlanSummary } from "./plan-summary.ts";
import { openRepo, withWorktree } from "./revision.ts";

export interface RollbackManagerOptions {
  manager: EnvironmentManager;
  ledger: DeploymentLedger;
  /** Where `artifacts/<version>/` live; null skips the artifact check (e.g. a local-only setup). */
  artifacts: BlobStore | null;
}

export interface RollbackOptions {
  /** Roll back to this version (default: the newest earlier verified one). */
  to?: string;
  /** Refuse unless the environment runs this version (the deployment the caller means to undo). */
  expectCurrent?: string;
  /** Also accept targets that were applied but never verified (older ledgers, deploys without a smoke test). */
  allowUnverified?: boolean;
  actor?: string;
}

export interface RollbackCheck {
  possible: boolean;
  reason: string;
  /** Nothing to undo: the expected version never got applied, the environment still runs its predecessor. */
  nothingToDo?: boolean;
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
  /** The commit whose infra/ and config.yaml were applied (a worktree), when the target recorded one. */
  revision?: string;
}

/** `hbsync rollback --expect-current` named a version the environment never ran: nothing was changed. */
export class NothingToRollBack extends HbsyncError {
  readonly env: string;
  readonly running: string | undefined;

  constructor(env: string, reason: string, running: string | undefined) {
    super(reason, { fix: `Nothing to do: ${env} was not changed.` });
    this.name = "NothingToRollBack";
    this.env = env;
    this.running = running;
  }
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
    const plan = await this.atRevision(check.target, (manager) =>
      manager.plan(env, { version: check.toVersion }),
    );
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
        if (!reachedApply(failed)) {
          return {
            possible: false,
            reason: `nothing to roll back: the deploy of ${failed.version} stopped before terraform apply, so ${env} was not changed`,
          };
        }
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
      const deploy = await this.atRevision(check.target, (manager) =>
        manager.deploy(env, {
          version: check.toVersion,
          artifacts: check.target.artifacts,
          autoRollback: false,
          ...(check.from ? { rollbackOf: check.from.id } : {}),
          ...(actor ? { actor } : {}),
        }),
      );
      return {
        env,
        fromVersion: check.fromVersion,
        toVersion: check.toVersion,
        deploy,
        ...(check.target.revision ? { revision: check.target.revision.commit } : {}),
      };
    } catch (error) {
      throw new PipelineError(
        "HBS-DEP-005",
        `rollback of ${env} from ${check.fromVersion} to ${check.toVersion} failed: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Runs `step` with a manager over the git revision the target recorded (a worktree), or over the current
   * checkout when the target recorded none (deployed from outside a git checkout).
   */
  private async atRevision<T>(
    target: DeploymentRecord,
    step: (manager: EnvironmentManager) => Promise<T>,
  ): Promise<T> {
    const commit = target.revision?.commit;
    if (!commit) return step(this.manager);
    const repo = await openRepo(this.manager.options.cwd);
    if (!repo) {
      throw new PipelineError(
        "HBS-DEP-012",
        `the target ${target.version} recorded revision ${commit}, but ${this.manager.options.cwd} is not a git checkout`,
      );
    }
    return withWorktree(repo, commit, (checkout) => step(this.manager.forCheckout(repo, checkout)));
  }

  private async requirePossible(
    env: string,
    options: RollbackOptions,
  ): Promise<RollbackCheck & { fromVersion: string; toVersion: string; target: DeploymentRecord }> {
    const check = await this.check(env, options);
    if (check.nothingToDo) throw new NothingToRollBack(env, check.reason, check.fromVersion);
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
    const from = current ?? currentDeployment(records);
    if (options.expectCurrent !== undefined) {
      const expected = options.expectCurrent;
      if (!from || !sameVersion(from.version, expected)) {
        const everApplied = records.some((r) => sameVersion(r.version, expected) && reachedApply(r));
        if (!everApplied) {
          return {
            possible: false,
            nothingToDo: true,
            ...(from ? { fromVersion: from.version, from } : {}),
            reason: `${env} ${from ? `still runs ${from.version}` : "has no applied deployment"}: ${expected} never got as far as terraform apply there, so there is nothing to roll back`,
          };
        }
        throw new PipelineError(
          "HBS-DEP-009",
          `refusing to roll back ${env}: it runs ${from?.version ?? "nothing"}, not ${expected} (a newer deployment happened since)`,
        );
      }
    }
    if (!from) return { possible: false, reason: `the ledger has no applied deployment of ${env}` };
    const acceptable = (record: DeploymentRecord): boolean =>
      record.status === "verified" ||
      (options.allowUnverified === true && (record.status === "applied" || record.status === "succeeded"));
    const candidates = records.filter(
      (record) =>
        acceptable(record) &&
        record.version !== from.version &&
        (options.to === undefined || sameVersion(record.version, options.to)),
    );
    if (candidates.length === 0) {
      const unverified = records.some(
        (r) =>
          (r.status === "applied" || r.status === "succeeded") &&
          r.version !== from.version &&
          (options.to === undefined || sameVersion(r.version, options.to)),
      );
      return {
        possible: false,
        fromVersion: from.version,
        from,
        reason:
          (options.to
            ? `${options.to} was never verified in ${env}`
            : `no earlier verified deployment of a version other than ${from.version} in ${env}`) +
          (unverified && !options.allowUnverified
            ? " (there are applied but unverified ones: --allow-unverified accepts them)"
            : ""),
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
          reason: `${target.version} was ${target.status} at ${target.finished ?? target.started}; ${availability.reason}`,
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

/** Equal versions, or one a commit-id prefix (at least 7 characters) of the other. */
export function sameVersion(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return (
    short.length >= 7 && /^[0-9a-f]+$/.test(short) && /^[0-9a-f]{40}$/.test(long) && long.startsWith(short)
  );
}
