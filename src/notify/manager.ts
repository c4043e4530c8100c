import type { ChannelName, ChannelResult, NotifyChannel } from "./channel.ts";
import { EmailChannel, type MailTransport } from "./email.ts";
import { type EventData, type NotifyEvent, type NotifyEventType, parseEvent } from "./events.ts";
import { type NotifyLogger, redactingLogger, stderrLogger } from "./logger.ts";
import { createRedactor, type Redactor } from "./redact.ts";
import type { RetryOptions } from "./retry.ts";
import { SlackChannel } from "./slack.ts";

/** Whether a channel will be used, and why (printed by `hbsync notify test`). */
export interface ChannelStatus {
  channel: ChannelName;
  enabled: boolean;
  /** e.g. "enabled in config but SLACK_WEBHOOK_URL is not set". Never contains a secret. */
  reason: string;
}

export interface NotifyResult {
  event: NotifyEventType;
  /** True when every enabled channel delivered (vacuously true with no channel). */
  ok: boolean;
  channels: ChannelResult[];
  /** Set when the event itself was invalid and nothing was sent. */
  error?: string;
}

export interface NotificationManagerOptions {
  slack?: {
    webhookUrl: string;
    channel?: string;
    timeoutMs?: number;
    fetch?: typeof globalThis.fetch;
    /** Where the proxy variables are read (default process.env). */
    env?: NodeJS.ProcessEnv;
  };
  email?: { transport: MailTransport; from: string; to: string[]; secrets?: string[] };
  /** Default: JSON lines on stderr. Every line passes through redact(). */
  logger?: NotifyLogger;
  /** Retry policy, sleep and jitter source for every channel (tests inject sleep). */
  retry?: RetryOptions;
  /** What notificationManagerFromEnv found out about each channel. */
  status?: ChannelStatus[];
}

/**
 * Sends events to Slack and email. A notification failure is reported in the NotifyResult and logged,
 * never thrown: notifying must not fail a deploy or a sync.
 */
export class NotificationManager {
  readonly channelStatus: ChannelStatus[];
  private readonly channels: NotifyChannel[];
  private readonly log: NotifyLogger;
  private readonly redact: Redactor;

  constructor(options: NotificationManagerOptions = {}) {
    const channels: NotifyChannel[] = [];
    if (options.slack) {
      channels.push(
        new SlackChannel({
          ...options.slack,
          ...(options.retry ? { retry: options.retry } : {}),
        }),
      );
    }
    if (options.email) {
      channels.push(
        new EmailChannel({ ...options.email, ...(options.retry ? { retry: options.retry } : {}) }),
      );
    }
    this.channels = channels;
    this.redact = createRedactor(channels.flatMap((channel) => channel.secrets));
    this.log = redactingLogger(options.logger ?? stderrLogger(), this.redact);
    this.channelStatus =
      options.status ??
      channels.map((channel) => ({ channel: channel.name, enabled: true, reason: "configured" }));
  }

  /** The channels that will receive events. */
  get enabledChannels(): ChannelName[] {
    return this.channels.map((channel) => channel.name);
  }

  async send(event: NotifyEvent): Promise<NotifyResult> {
    let valid: NotifyEvent;
    try {
      valid = parseEvent(event.type, stripType(event));
    } catch (error) {
      const message = this.redact(`not sending ${event.type}: ${(error as Error).message}`);
      this.log.error(message);
      return { event: event.type, ok: false, channels: [], error: message };
    }
    // Free text (errors, test names) can carry a token: redact before it leaves the process.
    const safe = redactEvent(valid, this.redact);
    if (this.channels.length === 0) {
      this.log.info(`no notification channel is enabled; ${event.type} not sent`);
      return { event: event.type, ok: true, channels: [] };
    }
    const results = await Promise.all(this.channels.map((channel) => this.sendTo(channel, safe)));
    return { event: event.type, ok: results.every((result) => result.ok), channels: results };
  }

  sendDeploymentSuccess(
    environment: string,
    details: Omit<EventData<"deployment_success">, "environment">,
  ): Promise<NotifyResult> {
    return this.send({ type: "deployment_success", environment, ...details });
  }

  sendDeploymentFailure(
    environment: string,
    error: string | Error,
    details: Omit<EventData<"deployment_failure">, "environment" | "error"> = {},
  ): Promise<NotifyResult> {
    const message = error instanceof Error ? error.message : error;
    return this.send({
      type: "deployment_failure",
      environment,
      error: message || "unknown error",
      ...details,
    });
  }

  sendTestResults(results: EventData<"test_results">): Promise<NotifyResult> {
    return this.send({ type: "test_results", ...results });
  }

  /** Closes pooled connections (SMTP). */
  close(): void {
    for (const channel of this.channels) channel.close?.();
  }

  private async sendTo(channel: NotifyChannel, event: NotifyEvent): Promise<ChannelResult> {
    let result: ChannelResult;
    try {
      result = await channel.send(event, this.log);
    } catch (error) {
      // A channel should never throw; if one does, it is still only a failed notification.
      result = {
        channel: channel.name,
        ok: false,
        attempts: 1,
        error: (error as Error)?.message ?? String(error),
      };
    }
    if (result.error !== undefined) result = { ...result, error: this.redact(result.error) };
    const attempts = `${result.attempts} attempt${result.attempts === 1 ? "" : "s"}`;
    if (result.ok) this.log.info(`${channel.name}: sent ${event.type} (${attempts})`);
    else this.log.warn(`${channel.name}: failed to send ${event.type} after ${attempts}: ${result.error}`);
    return result;
  }
}

function stripType(event: NotifyEvent): Record<string, unknown> {
  const { type: _type, ...data } = event;
  return data;
}

function redactEvent(event: NotifyEvent, redact: Redactor): NotifyEvent {
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return redact(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item)]));
    }
    return value;
  };
  return walk(event) as NotifyEvent;
}
