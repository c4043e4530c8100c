import type { NotifyEvent } from "./events.ts";

/**
 * What a message says, independent of where it goes: Slack (slack-blocks.ts) and email (email-render.ts)
 * both render this, so the two channels never disagree about an event.
 */
export type Tone = "good" | "warning" | "bad" | "info";

export interface EventSummary {
  /** One line, no markup: the Slack header, the email subject. */
  title: string;
  emoji: string;
  tone: Tone;
  /** Label → value pairs, values as plain text. */
  facts: Array<[label: string, value: string]>;
  /** A block of preformatted text, e.g. the error of a failed deployment. */
  detail?: { title: string; text: string };
  /** A list that may be long (failed tests, failed keys); renderers truncate it with "…and N more". */
  list?: { title: string; items: string[] };
  link?: { label: string; url: string };
  /** Small print: which tool said this, about what. */
  footer: string;
}

export function describeEvent(event: NotifyEvent): EventSummary {
  const footer = `hbsync · ${event.type}${event.environment ? ` · ${event.environment}` : ""}`;
  switch (event.type) {
    case "deployment_success":
      return {
        title: `Deployed ${event.version} to ${event.environment}`,
        emoji: ":white_check_mark:",
        tone: "good",
        facts: compact([
          ["Environment", event.environment],
          ["Version", event.version],
          ["Duration", formatDuration(event.durationSeconds)],
          ["Commit", shortCommit(event.commit)],
          ["Triggered by", event.actor],
        ]),
        ...(event.error ? { detail: { title: "Note", text: event.error } } : {}),
        ...linkTo(event.runUrl),
        footer,
      };
    case "deployment_failure":
      return {
        title: `Deployment to ${event.environment} failed${event.version ? ` (${event.version})` : ""}`,
        emoji: ":x:",
        tone: "bad",
        facts: compact([
          ["Environment", event.environment],
          ["Version", event.version],
          [
            "Duration",
            event.durationSeconds === undefined ? undefined : formatDuration(event.durationSeconds),
          ],
          ["Commit", event.commit === undefined ? undefined : shortCommit(event.commit)],
          ["Triggered by", event.actor],
        ]),
        detail: { title: "Error", text: event.error },
        ...linkTo(event.runUrl),
        footer,
      };
    case "test_results": {
      const total = event.passed + event.failed + event.skipped;
      return {
        title: `Tests ${event.failed > 0 ? "failed" : "passed"}: ${event.passed}/${total} passed${
          event.environment ? ` on ${event.environment}` : ""
        }`,
        emoji: event.failed > 0 ? ":red_circle:" : ":large_green_circle:",
        tone: event.failed > 0 ? "bad" : "good",
        facts: compact([
          ["Environment", event.environment],
          ["Passed", String(event.passed)],
          ["Failed", String(event.failed)],
          ["Skipped", String(event.skipped)],
          ["Coverage", event.coverage === undefined ? undefined : `${round(event.coverage, 1)}%`],
          ["Duration", formatDuration(event.durationSeconds)],
        ]),
        ...(event.failedTests.length > 0
          ? { list: { title: `Failed tests (${event.failedTests.length})`, items: event.failedTests } }
          : {}),
        ...linkTo(event.runUrl),
        footer,
      };
    }
    case "sync_summary": {
      const failed = event.status.toLowerCase() === "failed";
      const tone: Tone = failed ? "bad" : event.failures.length > 0 ? "warning" : "good";
      return {
        title: `Sync ${event.status} on ${event.environment}: ${event.newBottles} new bottle${plural(event.newBottles)}`,
        emoji: tone === "bad" ? ":x:" : tone === "warning" ? ":warning:" : ":package:",
        tone,
        facts: [
          ["Environment", event.environment],
          ["Run", event.runId],
          ["Status", event.status],
          ["New bottles", String(event.newBottles)],
          ["Transferred", formatBytes(event.bytes)],
          ["Duration", formatDuration(event.durationSeconds)],
          ["Failures", String(event.failures.length)],
          ["Mirror size", `${event.mirrorBottles} bottles, ${formatBytes(event.mirrorBytes)}`],
        ],
        ...(event.failures.length > 0
          ? {
              list: {
                title: `Failures (${event.failures.length})`,
                items: event.failures.map((failure) => `${failure.key}: ${failure.message}`),
              },
            }
          : {}),
        ...linkTo(event.runUrl),
        footer,
      };
    }
    case "sync_started":
      return {
        title: `Sync started on ${event.environment}`,
        emoji: ":arrows_counterclockwise:",
        tone: "info",
        facts: compact([
          ["Environment", event.environment],
          ["Run", event.runId],
          ["Planned bottles", event.plannedBottles === undefined ? undefined : String(event.plannedBottles)],
          ["Planned bytes", event.plannedBytes === undefined ? undefined : formatBytes(event.plannedBytes)],
          ["Runner", event.runner],
        ]),
        footer,
      };
    case "up_to_date":
      return {
        title: `Mirror up to date on ${event.environment}`,
        emoji: ":heavy_check_mark:",
        tone: "good",
        facts: compact([
          ["Environment", event.environment],
          ["Run", event.runId],
          [
            "Mirror size",
            event.mirrorBottles === undefined && event.mirrorBytes === undefined
              ? undefined
              : [
                  event.mirrorBottles === undefined ? undefined : `${event.mirrorBottles} bottles`,
                  event.mirrorBytes === undefined ? undefined : formatBytes(event.mirrorBytes),
                ]
                  .filter(Boolean)
                  .join(", "),
          ],
          [
            "Duration",
            event.durationSeconds === undefined ? undefined : formatDuration(event.durationSeconds),
          ],
        ]),
        footer,
      };
    case "weekly_report":
      return {
        title: `Weekly report for ${event.environment}`,
        emoji: ":bar_chart:",
        tone: event.failures > 0 ? "warning" : "info",
        facts: compact([
          ["Environment", event.environment],
          ["Runs", String(event.runs)],
          ["Bottles added", String(event.bottlesAdded)],
          ["Bytes added", formatBytes(event.bytesAdded)],
          ["Failures", String(event.failures)],
          ["Mirror size", formatBytes(event.mirrorBytes)],
          [
            "Estimated cost",
            event.costEstimateUsd === undefined ? undefined : `$${event.costEstimateUsd.toFixed(2)}`,
          ],
        ]),
        footer,
      };
    case "infrastructure_drift":
      return event.status === "drifted"
        ? {
            title: `Drift in ${event.environment}: ${event.resources.length} resource${event.resources.length === 1 ? "" : "s"} changed outside Terraform`,
            emoji: ":warning:",
            tone: "warning",
            facts: [
              ["Environment", event.environment],
              ["Changed resources", String(event.resources.length)],
            ],
            ...(event.resources.length > 0
              ? { list: { title: "Changed outside Terraform", items: event.resources } }
              : {}),
            ...(event.error ? { detail: { title: "Note", text: event.error } } : {}),
            ...linkTo(event.runUrl),
            footer,
          }
        : {
            title: `Drift check of ${event.environment} failed`,
            emoji: ":x:",
            tone: "bad",
            facts: [["Environment", event.environment]],
            detail: { title: "Error", text: event.error || "terraform plan failed (see the run)" },
            ...linkTo(event.runUrl),
            footer,
          };
    case "test":
      return {
        title: `Test notification from hbsync (${event.environment})`,
        emoji: ":wave:",
        tone: "info",
        facts: [
          ["Environment", event.environment],
          ["Message", event.message || "If you can read this, notifications reach this channel."],
        ],
        footer,
      };
  }
}

/** 1536 → "1.5 KiB" (binary units, as S3 and du report them). */
export function formatBytes(value: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${round(size, 1)} ${units[unit]}`;
}

/** 3725 → "1h 2m 5s"; 42.4 → "42s". */
export function formatDuration(totalSeconds: number): string {
  const whole = Math.round(totalSeconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = whole % 60;
  const parts: string[] = [];
  if (hours > 0) parts.push(`${hours}h`);
  if (minutes > 0) parts.push(`${minutes}m`);
  if (secs > 0 || parts.length === 0) parts.push(`${secs}s`);
  return parts.join(" ");
}

function shortCommit(commit: string): string {
  return /^[0-9a-f]{40}$/i.test(commit) ? commit.slice(0, 12) : commit;
}

function compact(pairs: Array<[string, string | undefined]>): Array<[string, string]> {
  return pairs.filter((pair): pair is [string, string] => pair[1] !== undefined && pair[1] !== "");
}

function linkTo(url: string | undefined): { link?: { label: string; url: string } } {
  return url ? { link: { label: "View run", url } } : {};
}

function plural(n: number): string {
  return n === 1 ? "" : "s";
}

function round(value: number, digits: number): string {
  return Number(value.toFixed(digits)).toString();
}
