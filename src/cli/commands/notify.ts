import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { loadConfigOrThrow } from "../../config/load.ts";
import { resolveEnvironment } from "../../config/resolve.ts";
import { NotifyDataError, NotifyError } from "../../notify/errors.ts";
import {
  EVENT_TYPES,
  type NotifyEvent,
  type NotifyEventType,
  normaliseEventType,
  parseEvent,
  parseEventData,
} from "../../notify/events.ts";
import { notificationManagerFromEnv } from "../../notify/from-env.ts";
import type { NotifyLogger } from "../../notify/logger.ts";
import type { ChannelStatus, NotifyResult } from "../../notify/manager.ts";
import { UsageError } from "../../shared/errors.ts";
import type { CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";

interface NotifyOptions {
  env: string;
  data?: string;
  dataFile?: string;
  config: string;
  json?: boolean;
}

const EVENT_NAMES = EVENT_TYPES.map((type) => type.replaceAll("_", "-"));

/**
 * `hbsync notify <event> --env E [--data JSON | --data-file F]` sends one event to every enabled channel;
 * `hbsync notify test --env E` sends a test message and says why each channel is enabled or not.
 * A channel that fails is reported, and the exit code stays 0: notifying never fails a workflow. Only
 * `notify test`, whose job is to test the channels, exits 1 when one fails and 2 when none can send.
 * Bad data or config exits 2.
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("notify")
    .description("Send a notification (Slack, email) to every channel enabled in config.yaml")
    .argument("<event>", `one of: ${EVENT_NAMES.join(", ")} (kebab or snake case)`)
    .requiredOption("--env <name>", "the environment the event is about")
    .option("--data <json>", "the event's fields as a JSON object")
    .option("--data-file <file>", "read the event's fields from a JSON file")
    .option("--config <file>", "the config file", "config.yaml")
    .option("--json", "print the result as one JSON document")
    .addHelpText(
      "after",
      "\nSecrets come from the environment: SLACK_WEBHOOK_URL (or SLACK_WEBHOOK_SECRET_ARN), SMTP_URL\n" +
        "(or NOTIFY_EMAIL_TRANSPORT=ses), NOTIFY_EMAIL_FROM. See docs/notifications.md.",
    )
    .action(async (eventName: string, options: NotifyOptions) => {
      await notifyAction(eventName, options, ctx);
    });
}

async function notifyAction(eventName: string, options: NotifyOptions, ctx: CliContext): Promise<void> {
  const type = normaliseEventType(eventName);
  if (!type) {
    throw new UsageError(`unknown notification event "${eventName}"`, {
      fix: `use one of: ${EVENT_NAMES.join(", ")}`,
    });
  }
  const event = await readEvent(type, options, ctx);
  const { config } = await loadConfigOrThrow(options.config, { cwd: ctx.cwd });
  resolveEnvironment(config, options.env); // an unknown --env is a usage error listing the known ones

  const manager = await notificationManagerFromEnv(config, ctx.env, { logger: cliLogger(ctx) });
  let result: NotifyResult;
  try {
    result = await manager.send(event);
  } finally {
    manager.close();
  }
  print(ctx, options, event, manager.channelStatus, result);
  ctx.exitCode = EXIT.OK;
  if (type === "test") checkTestOutcome(manager.channelStatus, result);
}

/**
 * `notify test` exists to test the channels, so unlike every other event it fails when they do: exit 2
 * when no channel can send (nothing is configured to be tested), 1 when any channel failed, or is
 * enabled in config.yaml but cannot send (its secret is missing).
 */
function checkTestOutcome(status: ChannelStatus[], result: NotifyResult): void {
  if (result.channels.length === 0) {
    throw new NotifyError(
      `notify test: no notification channel can send (${status.map((entry) => `${entry.channel}: ${entry.reason}`).join("; ")})`,
      {
        kind: "usage",
        fix: "enable a channel under notifications in config.yaml and set its secret: SLACK_WEBHOOK_URL (or SLACK_WEBHOOK_SECRET_ARN); SMTP_URL and NOTIFY_EMAIL_FROM (see docs/notifications.md)",
      },
    );
  }
  const failed = result.channels.filter((channel) => !channel.ok).map((channel) => channel.channel);
  const unusable = status
    .filter((entry) => !entry.enabled && entry.reason.startsWith("enabled in config"))
    .map((entry) => entry.channel);
  if (failed.length + unusable.length > 0) {
    const parts = [
      ...(failed.length > 0 ? [`${failed.join(" and ")} failed to deliver`] : []),
      ...(unusable.length > 0 ? [`${unusable.join(" and ")} enabled in config.yaml but cannot send`] : []),
    ];
    throw new NotifyError(`notify test: ${parts.join("; ")} (see above)`, {
      fix: "fix the channel as the line above says (a webhook or SMTP server that refuses, a missing secret), then run `hbsync notify test` again",
    });
  }
}

async function readEvent(
  type: NotifyEventType,
  options: NotifyOptions,
  ctx: CliContext,
): Promise<NotifyEvent> {
  if (options.data !== undefined && options.dataFile !== undefined) {
    throw new UsageError("pass either --data or --data-file, not both");
  }
  let json = options.data;
  let source = "--data";
  if (options.dataFile !== undefined) {
    source = options.dataFile;
    try {
      json = await readFile(resolve(ctx.cwd, options.dataFile), "utf8");
    } catch (error) {
      throw new UsageError(`cannot read --data-file ${options.dataFile}: ${(error as Error).message}`, {
        fix: "point --data-file at a JSON file holding the event's fields",
      });
    }
  }
  if (json === undefined) {
    if (type === "test") return parseEvent(type, { environment: options.env });
    throw new NotifyDataError(`${type} needs its fields: pass --data '{…}' or --data-file FILE`, {
      event: type,
      fix: `run \`hbsync notify ${type.replaceAll("_", "-")} --help\`, and see docs/notifications.md for the fields`,
    });
  }
  const data = parseEventData(type, json, source);
  const given = data.environment;
  if (given !== undefined && given !== options.env) {
    throw new NotifyDataError(
      `${type} data says environment ${JSON.stringify(given)} but --env is "${options.env}"`,
      {
        event: type,
        field: "environment",
        fix: "drop environment from the data (--env supplies it), or make the two match",
      },
    );
  }
  return parseEvent(type, { ...data, environment: options.env });
}

/** Warnings and errors from notify go to stderr; the per-channel outcome is printed by `print`. */
function cliLogger(ctx: CliContext): NotifyLogger {
  return {
    info: () => {},
    warn: (message) => ctx.output.err(`warning: ${message}`),
    error: (message) => ctx.output.err(`error: ${message}`),
  };
}

function print(
  ctx: CliContext,
  options: NotifyOptions,
  event: NotifyEvent,
  status: ChannelStatus[],
  result: NotifyResult,
): void {
  if (options.json) {
    ctx.output.json({
      event: event.type,
      environment: options.env,
      ok: result.ok,
      channels: status.map((entry) => ({
        ...entry,
        ...(result.channels.find((channel) => channel.channel === entry.channel) ?? {}),
      })),
    });
    return;
  }
  ctx.output.out(`notify ${event.type} (${options.env})`);
  for (const entry of status) {
    const sent = result.channels.find((channel) => channel.channel === entry.channel);
    if (!sent) {
      ctx.output.out(`  ${entry.channel}: not sent — ${entry.reason}`);
      continue;
    }
    const attempts = `${sent.attempts} attempt${sent.attempts === 1 ? "" : "s"}`;
    if (sent.ok) ctx.output.out(`  ${entry.channel}: sent (${attempts}) — ${entry.reason}`);
    else ctx.output.out(`  ${entry.channel}: FAILED after ${attempts}: ${sent.error}`);
  }
  if (result.channels.length === 0) {
    ctx.output.out("  no channel can send (see the reasons above): nothing was sent");
  } else if (!result.ok && event.type !== "test") {
    ctx.output.out("  (a failed notification does not change the exit code)");
  }
}
