/**
 * The deployment ledger: an append-only record per environment of every deployment (version, artifact
 * checksums, times, status, actor, change summary, errors), kept in a BlobStore — a folder locally, the
 * artifacts bucket in AWS.
 *
 * Concurrent appends lose nothing because nothing is ever rewritten: each append is its own object,
 * created with putIfAbsent under a key that sorts by time,
 * `<prefix><env>/<yyyy-mm-ddThh-mm-ss.mmmZ>-<random>.json`. Reading a ledger lists those keys in order.
 * A deployment that is recorded several times (in_progress, applied, then verified or failed) shares its
 * `id`; each record stands on its own, the newest one per id is the current state.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { forEachBounded } from "../shared/concurrency.ts";
import { HbsyncError, UsageError } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import type { SourceRevision } from "./revision.ts";
import type { DeploymentResult, DeploymentStatus } from "./types.ts";

/**
 * A ledger record's status:
 * - `in_progress`: recorded before terraform runs (a crash leaves it visible);
 * - `applied`: terraform apply succeeded, the smoke test has not run (or there is none);
 * - `verified`: the smoke test passed on the applied version — only these are rollback targets;
 * - `failed`: plan, apply or the smoke test failed (`reached` says how far it got);
 * - `succeeded`: written by versions before the smoke test existed — applied, never verified;
 * - `rolled_back`: reserved for readers of older ledgers.
 * toDeploymentResult maps them to the user's DeploymentStatus.
 */
export type DeploymentRecordStatus =
  | "in_progress"
  | "applied"
  | "verified"
  | "failed"
  | "succeeded"
  | "rolled_back";

export const RECORD_STATUSES: readonly DeploymentRecordStatus[] = [
  "in_progress",
  "applied",
  "verified",
  "failed",
  "succeeded",
  "rolled_back",
];

/** How far a deployment got: planning, applying (the environment may have changed), verifying. */
export type DeploymentStage = "plan" | "apply" | "verify";

/** Statuses of a deployment whose apply completed: the environment runs that version. */
const APPLIED: ReadonlySet<DeploymentRecordStatus> = new Set(["applied", "verified", "succeeded"]);

export interface LedgerArtifact {
  name: string;
  sha256: string;
}

export interface DeploymentRecord {
  /** The deployment's id; records of the same deployment (in_progress → outcome) share it. */
  id: string;
  env: string;
  /** The git SHA deployed. */
  version: string;
  artifacts: LedgerArtifact[];
  /** ISO 8601. */
  started: string;
  /** ISO 8601; null while in progress. */
  finished: string | null;
  status: DeploymentRecordStatus;
  actor: string;
  changeSummary: { add: number; change: number; destroy: number };
  errors: string[];
  /** The id of the deployment this one rolled back. */
  rollbackOf?: string;
  /** The git revision of infra/ and config.yaml it applied (absent outside a git checkout). */
  revision?: SourceRevision;
  /** The last stage it reached (failed records: whether the environment may have changed). */
  reached?: DeploymentStage;
  /** The smoke test's verdict on the applied version. */
  verification?: { passed: boolean; detail: string };
  /** When the record was appended (ISO 8601); its key sorts by it. */
  recordedAt: string;
}

export type DeploymentRecordInput = Omit<DeploymentRecord, "id" | "recordedAt" | "finished"> & {
  /** Default: a new UUID. Pass the id of an in_progress record to record its outcome. */
  id?: string;
  finished?: string | null;
};

export interface LastSuccessfulOptions {
  /** Only records appended strictly before this time (a Date or an ISO timestamp). */
  before?: Date | string;
  /** Only this version. */
  version?: string;
  /** Only `verified` records (default: any applied one: applied, verified, succeeded). */
  verifiedOnly?: boolean;
}

/** A ledger object that is not a valid record: the ledger was edited by hand or damaged. */
export class LedgerRecordError extends HbsyncError {
  readonly key: string;

  constructor(key: string, location: string, problem: string, cause?: unknown) {
    super(`deployment ledger record ${key} in ${location} is unreadable: ${problem}`, {
      cause,
      fix: `Restore ${key} from a backup or the bucket's object versions, or delete it if it is not a deployment record.`,
    });
    this.name = "LedgerRecordError";
    this.key = key;
  }
}

const ENV_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const READ_CONCURRENCY = 8;

/** Appends in one process get strictly increasing times, so their keys sort in append order. */
let lastStamp = 0;
function nextStamp(): Date {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return new Date(lastStamp);
}

function assertEnvName(env: string): void {
  if (!ENV_NAME.test(env)) {
    throw new UsageError(`invalid environment name ${JSON.stringify(env)} for the deployment ledger`, {
      fix: "Environment names are letters, digits, `-`, `_` and `.` (e.g. dev, staging, prod).",
    });
  }
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString("utf8");
}

export class DeploymentLedger {
  readonly store: BlobStore;
  readonly prefix: string;

  constructor(store: BlobStore, prefix = "_ledger/") {
    this.store = store;
    this.prefix = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
  }

  /** Adds a record; never replaces one. Returns the record as stored. */
  async append(input: DeploymentRecordInput): Promise<DeploymentRecord> {
    assertEnvName(input.env);
    if (!RECORD_STATUSES.includes(input.status)) {
      throw new UsageError(`invalid deployment status ${JSON.stringify(input.status)}`, {
        fix: `Use one of ${RECORD_STATUSES.join(", ")}.`,
      });
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const stamp = nextStamp();
      const record: DeploymentRecord = {
        ...input,
        id: input.id ?? randomUUID(),
        finished: input.finished ?? null,
        recordedAt: stamp.toISOString(),
      };
      const key = `${this.prefix}${input.env}/${stamp.toISOString().replaceAll(":", "-")}-${randomBytes(6).toString("hex")}.json`;
      if (await this.store.putIfAbsent(key, `${JSON.stringify(record, null, 2)}\n`)) return record;
    }
    throw new HbsyncError(
      `could not append to the deployment ledger in ${this.store.location}: every key was taken`,
      {
        fix: "This should not happen (keys carry 48 random bits); check that the store is not replaying writes.",
      },
    );
  }

  /** Every record of `env`, oldest first (append order). */
  async list(env: string): Promise<DeploymentRecord[]> {
    assertEnvName(env);
    const keys: string[] = [];
    for await (const entry of this.store.list(`${this.prefix}${env}/`)) {
      if (
        entry.key.endsWith(".json") &&
        !entry.key.slice(this.prefix.length + env.length + 1).includes("/")
      ) {
        keys.push(entry.key);
      }
    }
    keys.sort();
    const records: DeploymentRecord[] = new Array(keys.length);
    await forEachBounded(keys, READ_CONCURRENCY, async (key, index) => {
      records[index] = await this.read(key, env);
    });
    return records;
  }

  /** The newest record of `env`, whatever its status. */
  async latest(env: string): Promise<DeploymentRecord | undefined> {
    return (await this.list(env)).at(-1);
  }

  /** The newest applied (or, with verifiedOnly, verified) record of `env`, optionally before a time and/or of one version. */
  async lastSuccessful(
    env: string,
    options: LastSuccessfulOptions = {},
  ): Promise<DeploymentRecord | undefined> {
    const before = options.before === undefined ? undefined : new Date(options.before).getTime();
    const records = await this.list(env);
    for (let index = records.length - 1; index >= 0; index--) {
      const record = records[index] as DeploymentRecord;
      if (options.verifiedOnly ? record.status !== "verified" : !APPLIED.has(record.status)) continue;
      if (options.version !== undefined && record.version !== options.version) continue;
      if (before !== undefined && !(Date.parse(record.recordedAt) < before)) continue;
      return record;
    }
    return undefined;
  }

  /** The environments that have records, sorted. */
  async environments(): Promise<string[]> {
    const names = new Set<string>();
    for await (const entry of this.store.list(this.prefix)) {
      const env = entry.key.slice(this.prefix.length).split("/")[0];
      if (env !== undefined && ENV_NAME.test(env) && entry.key.endsWith(".json")) names.add(env);
    }
    return [...names].sort();
  }

  private async read(key: string, env: string): Promise<DeploymentRecord> {
    let value: unknown;
    try {
      value = JSON.parse(await readText(await this.store.get(key)));
    } catch (error) {
      if (error instanceof SyntaxError)
        throw new LedgerRecordError(key, this.store.location, "not JSON", error);
      throw error;
    }
    const record = value as Partial<DeploymentRecord> | null;
    const problem =
      record === null || typeof record !== "object"
        ? "not an object"
        : typeof record.id !== "string" || typeof record.version !== "string"
          ? "no id or version"
          : record.env !== env
            ? `it belongs to ${JSON.stringify(record.env)}, not ${env}`
            : !RECORD_STATUSES.includes(record.status as DeploymentRecordStatus)
              ? `unknown status ${JSON.stringify(record.status)}`
              : undefined;
    if (problem !== undefined) throw new LedgerRecordError(key, this.store.location, problem);
    return value as DeploymentRecord;
  }
}

/** The user's DeploymentResult for a ledger record (duration in seconds; outputs from terraform). */
export function toDeploymentResult(
  record: DeploymentRecord,
  terraformOutputs: Record<string, unknown> = {},
): DeploymentResult {
  const status: DeploymentStatus = APPLIED.has(record.status)
    ? "success"
    : (record.status as Exclude<DeploymentRecordStatus, "applied" | "verified" | "succeeded">);
  const finished = record.finished === null ? Date.now() : Date.parse(record.finished);
  const duration = Math.max(0, Math.round((finished - Date.parse(record.started)) / 1000));
  return {
    environment: record.env,
    status,
    duration,
    commitSha: record.version,
    terraformOutputs,
    errors: record.errors,
  };
}

/** True when the deployment's terraform apply started: the environment may run (some of) its version. */
export function reachedApply(record: DeploymentRecord): boolean {
  return APPLIED.has(record.status) || record.reached === "apply" || record.reached === "verify";
}

/**
 * What the environment runs: the newest deployment (records newest first, one per id) that got as far as
 * applying. A deployment that failed before terraform apply changed nothing and is skipped.
 */
export function currentDeployment(newestFirst: readonly DeploymentRecord[]): DeploymentRecord | undefined {
  return newestFirst.find(reachedApply);
}
