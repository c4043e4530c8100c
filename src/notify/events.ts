import * as z from "zod";
import { NotifyDataError } from "./errors.ts";

/**
 * The events notify knows how to announce, as typed data. Workflows pass them as JSON
 * (`hbsync notify <event> --data '{…}'`); code builds them directly. Unknown fields are rejected so a
 * typo ("runURL") is an error rather than a silently missing link.
 */

const text = z.string().min(1);
const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative();
const bytes = z.number().int().nonnegative();
/** Links end up in buttons and <a href>: http(s) only. */
const httpUrl = z.url({ protocol: /^https?$/ });

const deploymentSuccess = z.strictObject({
  type: z.literal("deployment_success"),
  environment: text,
  version: text,
  durationSeconds: seconds,
  commit: text,
  runUrl: httpUrl.optional(),
  error: z.string().optional(),
  actor: z.string().optional(),
});

/** A failure may happen before a version or commit is known: only `environment` and `error` are required. */
const deploymentFailure = z.strictObject({
  type: z.literal("deployment_failure"),
  environment: text,
  error: text,
  version: text.optional(),
  durationSeconds: seconds.optional(),
  commit: text.optional(),
  runUrl: httpUrl.optional(),
  actor: z.string().optional(),
});

const testResults = z.strictObject({
  type: z.literal("test_results"),
  environment: text.optional(),
  passed: count,
  failed: count,
  skipped: count,
  /** Line coverage in percent (0–100). */
  coverage: z.number().min(0).max(100).optional(),
  failedTests: z.array(z.string()),
  durationSeconds: seconds,
  runUrl: httpUrl.optional(),
});

const syncFailure = z.strictObject({ key: text, message: z.string() });

const syncSummary = z.strictObject({
  type: z.literal("sync_summary"),
  environment: text,
  runId: text,
  /** The run's outcome, e.g. succeeded, partial, failed. */
  status: text,
  newBottles: count,
  bytes,
  durationSeconds: seconds,
  failures: z.array(syncFailure),
  mirrorBottles: count,
  mirrorBytes: bytes,
  runUrl: httpUrl.optional(),
});

const syncStarted = z.strictObject({
  type: z.literal("sync_started"),
  environment: text,
  runId: text,
  plannedBottles: count.optional(),
  plannedBytes: bytes.optional(),
  /** Where the transfer runs: lambda, ecs or local. */
  runner: z.string().optional(),
});

const upToDate = z.strictObject({
  type: z.literal("up_to_date"),
  environment: text,
  runId: text.optional(),
  mirrorBottles: count.optional(),
  mirrorBytes: bytes.optional(),
  durationSeconds: seconds.optional(),
});

const weeklyReport = z.strictObject({
  type: z.literal("weekly_report"),
  environment: text,
  runs: count,
  bottlesAdded: count,
  bytesAdded: bytes,
  failures: count,
  mirrorBytes: bytes,
  costEstimateUsd: z.number().nonnegative().optional(),
});

/**
 * The scheduled drift check (.github/workflows/drift.yml): `terraform plan -refresh-only
 * -detailed-exitcode` found resources changed outside Terraform (`drifted`, exit 2), or could not run
 * (`failed`, exit 1).
 */
const infrastructureDrift = z.strictObject({
  type: z.literal("infrastructure_drift"),
  environment: text,
  status: z.enum(["drifted", "failed"]),
  /** Addresses of the resources that changed outside Terraform. */
  resources: z.array(text).default([]),
  /** Why the check failed (status failed). */
  error: z.string().optional(),
  runUrl: httpUrl.optional(),
});

/** What `hbsync notify test` sends: proves a channel works without announcing a fake deploy. */
const testNotification = z.strictObject({
  type: z.literal("test"),
  environment: text,
  message: z.string().optional(),
});

export const EVENT_SCHEMAS = {
  deployment_success: deploymentSuccess,
  deployment_failure: deploymentFailure,
  test_results: testResults,
  sync_summary: syncSummary,
  sync_started: syncStarted,
  up_to_date: upToDate,
  weekly_report: weeklyReport,
  infrastructure_drift: infrastructureDrift,
  test: testNotification,
} as const;

export type NotifyEventType = keyof typeof EVENT_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as NotifyEventType[];

export type DeploymentSuccessEvent = z.infer<typeof deploymentSuccess>;
export type DeploymentFailureEvent = z.infer<typeof deploymentFailure>;
export type TestResultsEvent = z.infer<typeof testResults>;
export type SyncSummaryEvent = z.infer<typeof syncSummary>;
export type SyncStartedEvent = z.infer<typeof syncStarted>;
export type UpToDateEvent = z.infer<typeof upToDate>;
export type WeeklyReportEvent = z.infer<typeof weeklyReport>;
export type InfrastructureDriftEvent = z.infer<typeof infrastructureDrift>;
export type TestNotificationEvent = z.infer<typeof testNotification>;

export type NotifyEvent =
  | DeploymentSuccessEvent
  | DeploymentFailureEvent
  | TestResultsEvent
  | SyncSummaryEvent
  | SyncStartedEvent
  | UpToDateEvent
  | WeeklyReportEvent
  | InfrastructureDriftEvent
  | TestNotificationEvent;

/** The data of an event without its `type` (what `--data` holds). */
export type EventData<T extends NotifyEventType> = Omit<Extract<NotifyEvent, { type: T }>, "type">;

/** `deployment-success`, `deployment_success` and `Deployment_Success` all name the same event; else null. */
export function normaliseEventType(name: string): NotifyEventType | null {
  const snake = name.trim().toLowerCase().replaceAll("-", "_");
  return snake in EVENT_SCHEMAS ? (snake as NotifyEventType) : null;
}

/** Validates `data` (parsed JSON) as the data of event `type`. Throws NotifyDataError naming the field. */
export function parseEvent(type: NotifyEventType, data: unknown): NotifyEvent {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new NotifyDataError(`${type} data must be a JSON object, got ${describeJsonType(data)}`, {
      event: type,
      fix: `pass an object such as ${exampleFor(type)}`,
    });
  }
  const candidate = { ...(data as Record<string, unknown>), type };
  const result = EVENT_SCHEMAS[type].safeParse(candidate);
  if (result.success) return result.data as NotifyEvent;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  const field = path.join(".");
  const problem = describeIssue(issue, candidate, path);
  const fields = Object.keys(EVENT_SCHEMAS[type].shape).filter((key) => key !== "type");
  throw new NotifyDataError(`${type} data: ${problem}`, {
    event: type,
    field: field || undefined,
    cause: result.error,
    fix: `${type} takes the fields ${fields.join(", ")} — e.g. ${exampleFor(type)}`,
  });
}

/** Parses `--data` JSON text; a syntax error is a NotifyDataError too. */
export function parseEventJson(type: NotifyEventType, json: string, source = "--data"): NotifyEvent {
  return parseEvent(type, parseEventData(type, json, source));
}

/**
 * `--data` JSON text → the object of the event's fields, before validation (callers may add fields,
 * as the CLI adds `environment` from --env). A syntax error, or JSON that is not an object, is a
 * NotifyDataError worded for this event type.
 */
export function parseEventData(
  type: NotifyEventType,
  json: string,
  source = "--data",
): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    throw new NotifyDataError(`${source} is not valid JSON: ${(error as Error).message}`, {
      event: type,
      cause: error,
      fix: `pass a JSON object such as ${exampleFor(type)}`,
    });
  }
  // parseEvent words the "not an object" error (and its fix) for every event type.
  if (typeof data !== "object" || data === null || Array.isArray(data)) parseEvent(type, data);
  return data as Record<string, unknown>;
}

type Issue = z.core.$ZodIssue | undefined;

function describeIssue(issue: Issue, input: unknown, path: string[]): string {
  if (!issue) return "invalid data";
  const where = path.length > 0 ? `"${path.join(".")}"` : "the data";
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => `"${key}"`).join(", ");
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${keys}${path.length > 0 ? ` in ${where}` : ""}`;
  }
  if (issue.code === "invalid_type") {
    const actual = valueAt(input, path);
    if (actual === undefined) return `${where} is missing (expected ${issue.expected})`;
    return `${where} must be ${issue.expected}, got ${describeJsonType(actual)}`;
  }
  return `${where}: ${issue.message}`;
}

function valueAt(input: unknown, path: string[]): unknown {
  let current = input;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function describeJsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `a string (${JSON.stringify(value).slice(0, 40)})` : typeof value;
}

const EXAMPLES: Record<NotifyEventType, string> = {
  deployment_success: '{"version":"1.4.0","durationSeconds":312,"commit":"3f9c2e1"}',
  deployment_failure: '{"error":"terraform apply failed","version":"1.4.0"}',
  test_results: '{"passed":120,"failed":1,"skipped":3,"failedTests":["sync › resumes"],"durationSeconds":48}',
  sync_summary:
    '{"runId":"r1","status":"succeeded","newBottles":12,"bytes":1048576,"durationSeconds":95,"failures":[],"mirrorBottles":8400,"mirrorBytes":1073741824}',
  sync_started: '{"runId":"r1","plannedBottles":12}',
  up_to_date: '{"runId":"r1"}',
  weekly_report:
    '{"runs":28,"bottlesAdded":340,"bytesAdded":5368709120,"failures":1,"mirrorBytes":107374182400}',
  infrastructure_drift: '{"status":"drifted","resources":["module.homebrew_sync.aws_s3_bucket.mirror"]}',
  test: '{"message":"checking the channels"}',
};

function exampleFor(type: NotifyEventType): string {
  return EXAMPLES[type];
}
