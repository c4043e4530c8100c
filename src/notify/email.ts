import type { SESv2Client } from "@aws-sdk/client-sesv2";
import type { SendMailOptions, Transporter } from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import type { ChannelResult, NotifyChannel } from "./channel.ts";
import { renderEmail } from "./email-render.ts";
import type { NotifyEvent } from "./events.ts";
import type { NotifyLogger } from "./logger.ts";
import { createRedactor, type Redactor, secretsOfUrl } from "./redact.ts";
import { type RetryDecision, type RetryOptions, withRetry } from "./retry.ts";

/** The part of a nodemailer transporter this module uses (a fake is easy to inject). */
export interface MailTransport {
  sendMail(options: SendMailOptions): Promise<unknown>;
  close?(): void;
}

export interface EmailChannelOptions {
  transport: MailTransport;
  from: string;
  to: string[];
  retry?: RetryOptions;
  /** Strings never to print (the SMTP password). */
  secrets?: string[];
}

export class EmailChannel implements NotifyChannel {
  readonly name = "email" as const;
  readonly secrets: readonly string[];
  private readonly options: EmailChannelOptions;
  private readonly redact: Redactor;

  constructor(options: EmailChannelOptions) {
    this.options = options;
    this.secrets = options.secrets ?? [];
    this.redact = createRedactor(this.secrets);
  }

  async send(event: NotifyEvent, log: NotifyLogger): Promise<ChannelResult> {
    const { subject, text, html } = renderEmail(event);
    const outcome = await withRetry(
      () =>
        this.options.transport.sendMail({
          from: this.options.from,
          to: this.options.to,
          subject,
          text,
          html,
        }),
      classifyMailError,
      {
        ...this.options.retry,
        onRetry: ({ attempt, delayMs, error }) => {
          log.warn(`email: attempt ${attempt} failed, retrying in ${delayMs} ms`, {
            error: this.describe(error),
          });
          this.options.retry?.onRetry?.({ attempt, delayMs, error });
        },
      },
    );
    if (outcome.ok) return { channel: "email", ok: true, attempts: outcome.attempts };
    const status = responseCode(outcome.error);
    return {
      channel: "email",
      ok: false,
      attempts: outcome.attempts,
      error: `could not send email: ${this.describe(outcome.error)}${outcome.gaveUpReason ? ` (${outcome.gaveUpReason})` : ""}`,
      ...(status === undefined ? {} : { status }),
    };
  }

  close(): void {
    this.options.transport.close?.();
  }

  private describe(error: unknown): string {
    if (!(error instanceof Error)) return this.redact(String(error));
    const code = (error as { code?: unknown }).code;
    return this.redact(
      typeof code === "string" && !error.message.includes(code)
        ? `${error.message} (${code})`
        : error.message,
    );
  }
}

/** Connection trouble and SMTP 4xx replies are transient; 5xx and authentication failures are not. */
export function classifyMailError(error: unknown): RetryDecision {
  const code = (error as { code?: unknown } | undefined)?.code;
  const status = responseCode(error);
  if (status !== undefined) return { retryable: status >= 400 && status < 500 };
  const sdkStatus = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  if (sdkStatus !== undefined) return { retryable: sdkStatus === 429 || sdkStatus >= 500 };
  return {
    retryable: code === "ECONNECTION" || code === "ETIMEDOUT" || code === "ESOCKET" || code === "EDNS",
  };
}

function responseCode(error: unknown): number | undefined {
  const value = (error as { responseCode?: unknown } | undefined)?.responseCode;
  return typeof value === "number" ? value : undefined;
}

export interface EmailTransportSetup {
  transport: MailTransport;
  /** "smtp://user:***@host:587" or "Amazon SES (SESv2)": safe to print. */
  description: string;
  secrets: string[];
}

export interface EmailTransportDeps {
  /** The SESv2 client to use for NOTIFY_EMAIL_TRANSPORT=ses (default: a new one for the Lambda's region). */
  sesClient?: SESv2Client;
}

/**
 * The transport named by the environment: `SMTP_URL` (smtp:// or smtps://, credentials in the URL), or,
 * when it is unset and `NOTIFY_EMAIL_TRANSPORT=ses`, nodemailer's SES transport over an SESv2 client.
 * Returns a reason (safe to print) when neither is configured or SMTP_URL is malformed.
 */
export async function emailTransportFromEnv(
  env: NodeJS.ProcessEnv,
  deps: EmailTransportDeps = {},
): Promise<EmailTransportSetup | { reason: string }> {
  const smtpUrl = env.SMTP_URL?.trim();
  if (smtpUrl) return smtpTransport(smtpUrl);
  if (env.NOTIFY_EMAIL_TRANSPORT?.trim().toLowerCase() === "ses") {
    // Loaded only when needed: the AWS SDK adds about a second to every CLI start.
    const [{ SESv2Client, SendEmailCommand }, { default: nodemailer }] = await Promise.all([
      import("@aws-sdk/client-sesv2"),
      import("nodemailer"),
    ]);
    const sesClient = deps.sesClient ?? new SESv2Client({});
    return {
      transport: nodemailer.createTransport({ SES: { sesClient, SendEmailCommand } }),
      description: "Amazon SES (SESv2)",
      secrets: [],
    };
  }
  return { reason: "SMTP_URL is not set (and NOTIFY_EMAIL_TRANSPORT is not ses)" };
}

export function smtpTransport(smtpUrl: string): EmailTransportSetup | { reason: string } {
  const secrets = secretsOfUrl(smtpUrl);
  const redact = createRedactor(secrets);
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    return { reason: "SMTP_URL is not a valid URL (expected smtp://user:pass@host:port or smtps://…)" };
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") {
    return { reason: `SMTP_URL must start with smtp:// or smtps://, not ${url.protocol}//` };
  }
  const secure = url.protocol === "smtps:";
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const transport = lazySmtpTransport({
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(user ? { auth: { user, pass } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    transport,
    // The password shows as *** so a reader can tell one is set.
    description: redact(`${url.protocol}//${userInfo(url)}${url.host}`),
    secrets,
  };
}

/**
 * A nodemailer SMTP transport created on the first send: nodemailer is half a megabyte of JavaScript that
 * every command importing the notifier would otherwise load at start-up, mail or not.
 */
function lazySmtpTransport(options: SMTPTransport.Options): MailTransport {
  let transporter: Promise<Transporter> | undefined;
  const created = (): Promise<Transporter> =>
    (transporter ??= import("nodemailer").then(({ default: nodemailer }) =>
      nodemailer.createTransport(options),
    ));
  return {
    sendMail: async (mail) => (await created()).sendMail(mail),
    close: () => {
      void transporter?.then((t) => t.close());
    },
  };
}

function userInfo(url: URL): string {
  if (!url.username) return "";
  return url.password ? `${url.username}:***@` : `${url.username}@`;
}
