/**
 * `hbsync env pause|resume <env>`: turn an environment's sync schedule off or on.
 *
 * Terraform-driven, not an API call behind Terraform's back: the EventBridge schedule's `state` comes
 * from the variable `schedule_enabled` (modules/schedule `enabled`), so a direct AWS call would be
 * reverted by the next deploy. Instead the wanted state is kept next to the ledger
 * (`_schedule/<env>.json` in the same store), every plan of the environment passes
 * `-var schedule_enabled=<state>`, and pause/resume write the state and apply at the currently
 * deployed version. A pause therefore survives later deploys until `resume`.
 *
 * The environment must declare `variable "schedule_enabled"` (HBS-CFG-006 otherwise).
 */
import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { declaresVariable, readTerraformSources } from "./environment-dir.ts";
import type { EnvironmentManager } from "./environment-manager.ts";
import { PipelineError } from "./errors.ts";
import type { PlanSummary } from "./plan-summary.ts";

export const SCHEDULE_VARIABLE = "schedule_enabled";
export const SCHEDULE_PREFIX = "_schedule/";

export interface ScheduleState {
  env: string;
  enabled: boolean;
  changed: string;
  actor: string;
}

export function scheduleKey(env: string): string {
  return `${SCHEDULE_PREFIX}${env}.json`;
}

export async function readScheduleState(store: BlobStore, env: string): Promise<ScheduleState | undefined> {
  try {
    if (!(await store.stat(scheduleKey(env)))) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(scheduleKey(env))) chunks.push(Buffer.from(chunk as Buffer));
    const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ScheduleState;
    return typeof parsed.enabled === "boolean" ? parsed : undefined;
  } catch (error) {
    throw new PipelineError(
      "HBS-INF-007",
      `cannot read the schedule state of ${env}: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
}

export async function writeScheduleState(store: BlobStore, state: ScheduleState): Promise<void> {
  await store.put(scheduleKey(state.env), `${JSON.stringify(state, null, 2)}\n`, {
    contentType: "application/json",
  });
}

export interface ScheduleToggleResult {
  env: string;
  enabled: boolean;
  /** False when the environment is not deployed yet: the state applies at its first deploy. */
  applied: boolean;
  version: string | undefined;
  summary: PlanSummary | undefined;
}

/** Sets the schedule state and applies it at the deployed version; restores the old state on failure. */
export async function setScheduleEnabled(
  manager: EnvironmentManager,
  env: string,
  enabled: boolean,
  options: { actor?: string } = {},
): Promise<ScheduleToggleResult> {
  const store = manager.options.stateStore;
  if (!store) {
    throw new PipelineError("HBS-INF-007", "pause/resume needs a ledger store to keep the schedule state", {
      fix: "pass --ledger DIR|s3://bucket/prefix (the same one deploys use)",
    });
  }
  await manager.loadConfig(env);
  const sources = await readTerraformSources(manager.dirFor(env));
  if (!declaresVariable(sources, SCHEDULE_VARIABLE)) {
    throw new PipelineError(
      "HBS-CFG-006",
      `${manager.dirFor(env)} does not declare variable "${SCHEDULE_VARIABLE}"`,
    );
  }
  const previous = await readScheduleState(store, env);
  const actor = options.actor ?? "unknown";
  await writeScheduleState(store, { env, enabled, changed: new Date().toISOString(), actor });
  try {
    const version = await deployedVersion(manager, env);
    if (!version) return { env, enabled, applied: false, version: undefined, summary: undefined };
    const plan = await manager.plan(env, { version });
    await manager.applyPlan(plan);
    return { env, enabled, applied: true, version, summary: plan.summary };
  } catch (error) {
    if (previous) await writeScheduleState(store, previous);
    else await store.delete(scheduleKey(env));
    throw error;
  }
}

/** The version running now: the `artifact_version` output, else the ledger's last success. */
async function deployedVersion(manager: EnvironmentManager, env: string): Promise<string | undefined> {
  const status = await manager.status(env);
  const output = status.outputs.artifact_version;
  if (typeof output === "string" && output) return output;
  const last = manager.ledger ? await manager.ledger.lastSuccessful(env) : undefined;
  return last?.version;
}
