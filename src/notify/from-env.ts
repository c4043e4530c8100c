import type { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import { type EmailTransportSetup, emailTransportFromEnv } from "./email.ts";
import { type NotifyLogger, redactingLogger, stderrLogger } from "./logger.ts";
import { type ChannelStatus, NotificationManager, type NotificationManagerOptions } from "./manager.ts";
import { createRedactor, redact } from "./redact.ts";
import type { RetryOptions } from "./retry.ts";

/**
 * The part of config.yaml notify reads. Structural, so the full config (src/config) and a plain object
 * in a test both fit.
 */
export interface NotifyConfig {
  notifications?: {
    slack?: { enabled?: boolean; channel?: string | undefined };
    email?: { enabled?: boolean; addresses?: string[] };
  };
}

/** The one Secrets Manager call used; a SecretsManagerClient fits. */
export interface SecretsReader {
  send(command: GetSecretValueCommand): Promise<{ SecretString?: string | undefined }>;
}

export interface FromEnvOptions {
  logger?: NotifyLogger;
  retry?: RetryOptions;
  /** Default: a SecretsManagerClient for the ambient region, created only when SLACK_WEBHOOK_SECRET_ARN is set. */
  secretsManager?: SecretsReader;
  sesClient?: SESv2Client;
  fetch?: typeof globalThis.fetch;
}

/**
 * Builds a NotificationManager from config (which channels are enabled, channel, addresses) and the
 * environment (the secrets): SLACK_WEBHOOK_URL, or SLACK_WEBHOOK_SECRET_ARN read with Secrets Manager
 * GetSecretValue; SMTP_URL, or NOTIFY_EMAIL_TRANSPORT=ses; NOTIFY_EMAIL_FROM. Never throws for a missing or
 * unreadable secret: that channel is disabled and `channelStatus` says why.
 */
export async function notificationManagerFromEnv(
  config: NotifyConfig,
  env: NodeJS.ProcessEnv,
  options: FromEnvOptions = {},
): Promise<NotificationManager> {
  const log = redactingLogger(options.logger ?? stderrLogger(), (text) => redact(text));
  const status: ChannelStatus[] = [];
  const managerOptions: NotificationManagerOptions = {
    status,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  };

  const slack = config.notifications?.slack;
  if (!slack?.enabled) {
    status.push({
      channel: "slack",
      enabled: false,
      reason: "disabled in config (notifications.slack.enabled)",
    });
  } else {
    const found = await slackWebhookFromEnv(env, options.secretsManager);
    if ("reason" in found) {
      status.push({ channel: "slack", enabled: false, reason: `enabled in config but ${found.reason}` });
      log.warn(`slack: not sending: enabled in config but ${found.reason}`);
    } else {
      managerOptions.slack = {
        webhookUrl: found.url,
        ...(slack.channel ? { channel: slack.channel } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        env,
      };
      const origin = safeOrigin(found.url);
      status.push({
        channel: "slack",
        enabled: true,
        reason: `enabled: webhook ${origin}/*** from ${found.source}${slack.channel ? `, channel ${slack.channel}` : ""}`,
      });
    }
  }

  const email = config.notifications?.email;
  const addresses = email?.addresses ?? [];
  if (!email?.enabled) {
    status.push({
      channel: "email",
      enabled: false,
      reason: "disabled in config (notifications.email.enabled)",
    });
  } else {
    const from = env.NOTIFY_EMAIL_FROM?.trim();
    const setup: EmailTransportSetup | { reason: string } =
      addresses.length === 0
        ? { reason: "notifications.email.addresses is empty" }
        : !from
          ? { reason: "NOTIFY_EMAIL_FROM is not set" }
          : await emailTransportFromEnv(env, options.sesClient ? { sesClient: options.sesClient } : {});
    if ("reason" in setup) {
      status.push({ channel: "email", enabled: false, reason: `enabled in config but ${setup.reason}` });
      log.warn(`email: not sending: enabled in config but ${setup.reason}`);
    } else {
      managerOptions.email = {
        transport: setup.transport,
        from: from ?? "",
        to: addresses,
        secrets: setup.secrets,
      };
      status.push({
        channel: "email",
        enabled: true,
        reason: `enabled: ${setup.description}, from ${from}, to ${addresses.join(", ")}`,
      });
    }
  }
  return new NotificationManager(managerOptions);
}

type WebhookLookup = { url: string; source: string } | { reason: string };

/** SLACK_WEBHOOK_URL wins; else the secret SLACK_WEBHOOK_SECRET_ARN names (the URL, or JSON holding it). */
export async function slackWebhookFromEnv(
  env: NodeJS.ProcessEnv,
  secretsManager?: SecretsReader,
): Promise<WebhookLookup> {
  const direct = env.SLACK_WEBHOOK_URL?.trim();
  if (direct) return checkWebhookUrl(direct, "SLACK_WEBHOOK_URL");
  const arn = env.SLACK_WEBHOOK_SECRET_ARN?.trim();
  if (!arn) return { reason: "SLACK_WEBHOOK_URL is not set (nor SLACK_WEBHOOK_SECRET_ARN)" };
  let secretString: string | undefined;
  try {
    // Loaded only when needed: the AWS SDK adds about a second to every CLI start.
    const sdk = await import("@aws-sdk/client-secrets-manager");
    const client = secretsManager ?? new sdk.SecretsManagerClient({});
    const response = await client.send(new sdk.GetSecretValueCommand({ SecretId: arn }));
    secretString = response.SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    return { reason: `the secret ${arn} could not be read (${name}: ${redact(message)})` };
  }
  const url = webhookFromSecret(secretString);
  if (!url) {
    return {
      reason: `the secret ${arn} holds no webhook URL (store the URL itself, or JSON {"webhook_url": "…"})`,
    };
  }
  return checkWebhookUrl(url, `Secrets Manager (${arn})`);
}

/** The secret is the URL itself, or JSON with webhook_url / webhookUrl / url / SLACK_WEBHOOK_URL. */
export function webhookFromSecret(secret: string | undefined): string | undefined {
  const text = secret?.trim();
  if (!text) return undefined;
  if (!text.startsWith("{")) return text;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    for (const key of ["webhook_url", "webhookUrl", "url", "SLACK_WEBHOOK_URL"]) {
      const value = parsed[key];
      if (typeof value === "string" && value.trim()) return value.trim();
    }
  } catch {
    // Not JSON after all.
  }
  return undefined;
}

function checkWebhookUrl(url: string, source: string): WebhookLookup {
  const redactUrl = createRedactor([url]);
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      return { reason: `${source} is not an http(s) URL (${redactUrl(url)})` };
    }
  } catch {
    return { reason: `${source} is not a valid URL` };
  }
  return { url, source };
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}
