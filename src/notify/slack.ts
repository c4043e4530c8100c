import type { FetchFunction } from "@slack/webhook";
import type { Dispatcher } from "undici";
import { parseRetryAfter } from "../shared/retry.ts";
import type { ChannelResult, NotifyChannel } from "./channel.ts";
import { ChannelSendError } from "./errors.ts";
import type { NotifyEvent } from "./events.ts";
import type { NotifyLogger } from "./logger.ts";
import { createRedactor, type Redactor, secretsOfUrl } from "./redact.ts";
import { type RetryOptions, withRetry } from "./retry.ts";
import { buildSlackMessage, type SlackMessage, validateSlackMessage } from "./slack-blocks.ts";

/**
 * Slack through an incoming webhook (@slack/webhook). The library retries only 5xx and network errors,
 * never 429, and does not expose Retry-After, so it runs with `retryConfig: {retries: 0}` and this module
 * retries 429/5xx/network failures itself (withRetry), reading Retry-After through a wrapping fetch.
 */
export interface SlackChannelOptions {
  webhookUrl: string;
  /** Legacy webhooks honour a channel override; app webhooks post to the channel they were made for. */
  channel?: string;
  retry?: RetryOptions;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** The fetch used for requests (default: undici's, through the proxy the environment names). */
  fetch?: typeof globalThis.fetch;
  /** Where HTTPS_PROXY / HTTP_PROXY / NO_PROXY are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export class SlackChannel implements NotifyChannel {
  readonly name = "slack" as const;
  readonly secrets: readonly string[];
  private readonly options: SlackChannelOptions;
  private readonly redact: Redactor;
  private dispatcher: Dispatcher | undefined;

  constructor(options: SlackChannelOptions) {
    this.options = options;
    this.secrets = secretsOfUrl(options.webhookUrl);
    this.redact = createRedactor(this.secrets);
  }

  async send(event: NotifyEvent, log: NotifyLogger): Promise<ChannelResult> {
    return this.sendMessage(buildSlackMessage(event), log);
  }

  async sendMessage(message: SlackMessage, log: NotifyLogger): Promise<ChannelResult> {
    const problems = validateSlackMessage(message);
    const payload: SlackMessage | { text: string } = problems.length === 0 ? message : { text: message.text };
    if (problems.length > 0) {
      log.warn("slack: message breaks Block Kit limits; sending its text only", { problems });
    }
    const outcome = await withRetry(
      () => this.post(payload),
      (error) =>
        error instanceof ChannelSendError
          ? { retryable: error.retryable, retryAfterMs: error.retryAfterMs }
          : { retryable: false },
      {
        ...this.options.retry,
        onRetry: ({ attempt, delayMs, error }) => {
          log.warn(`slack: attempt ${attempt} failed, retrying in ${delayMs} ms`, {
            error: this.describe(error),
          });
          this.options.retry?.onRetry?.({ attempt, delayMs, error });
        },
      },
    );
    if (outcome.ok) return { channel: "slack", ok: true, attempts: outcome.attempts };
    const reason = outcome.gaveUpReason ? ` (${outcome.gaveUpReason})` : "";
    const status = outcome.error instanceof ChannelSendError ? outcome.error.status : undefined;
    return {
      channel: "slack",
      ok: false,
      attempts: outcome.attempts,
      error: `${this.describe(outcome.error)}${reason}`,
      ...(status === undefined ? {} : { status }),
    };
  }

  private async post(payload: SlackMessage | { text: string }): Promise<void> {
    let retryAfter: string | null = null;
    const baseFetch = this.options.fetch ?? (await this.proxyAwareFetch());
    const capturingFetch: FetchFunction = async (url, init) => {
      const response = await baseFetch(url, init as RequestInit);
      retryAfter = response.headers.get("retry-after");
      // Node's Response is what the library expects; only @types/node's Headers lacks `entries` in its typing.
      return response as unknown as Awaited<ReturnType<FetchFunction>>;
    };
    // Loaded on the first post, not by every command that imports the notifier.
    const slack = await import("@slack/webhook");
    const webhook = new slack.IncomingWebhook(this.options.webhookUrl, {
      ...(this.options.channel ? { channel: this.options.channel } : {}),
      fetch: capturingFetch,
      timeout: this.options.timeoutMs ?? 10_000,
      retryConfig: { retries: 0 },
    });
    try {
      await webhook.send(payload);
    } catch (error) {
      throw this.toChannelError(error, retryAfter, slack);
    }
  }

  /**
   * undici's fetch through an EnvHttpProxyAgent: HTTPS_PROXY / HTTP_PROXY / NO_PROXY as the upstream
   * clients honour them (Node 20's global fetch ignores them). Loaded on the first post, like the
   * webhook library.
   */
  private async proxyAwareFetch(): Promise<typeof globalThis.fetch> {
    const [{ fetch: undiciFetch }, { createDispatcher }] = await Promise.all([
      import("undici"),
      import("../homebrew/http-client.ts"),
    ]);
    this.dispatcher ??= createDispatcher({ env: this.options.env ?? process.env, connections: 2 });
    const dispatcher = this.dispatcher;
    return ((input: string | URL, init?: RequestInit) =>
      undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof globalThis.fetch;
  }

  private toChannelError(
    error: unknown,
    retryAfter: string | null,
    { IncomingWebhookHTTPError, IncomingWebhookRequestError }: typeof import("@slack/webhook"),
  ): ChannelSendError {
    const where = this.redact(this.options.webhookUrl);
    if (error instanceof IncomingWebhookHTTPError) {
      const status = error.statusCode;
      const body = error.body.trim().slice(0, 200);
      const retryAfterMs = parseRetryAfter(retryAfter);
      return new ChannelSendError(
        this.redact(`Slack webhook ${where} answered HTTP ${status}${body ? ` (${body})` : ""}`),
        {
          channel: "slack",
          status,
          retryable: status === 429 || status >= 500,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        },
      );
    }
    const original = error instanceof IncomingWebhookRequestError ? error.original : error;
    return new ChannelSendError(
      this.redact(`could not reach the Slack webhook ${where}: ${networkReason(original)}`),
      {
        channel: "slack",
        retryable: true,
      },
    );
  }

  private describe(error: unknown): string {
    return this.redact(error instanceof Error ? error.message : String(error));
  }
}

/** "fetch failed (ECONNREFUSED)" from undici's TypeError and its cause. */
export function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  if (error.name === "TimeoutError" || error.name === "AbortError") return "the request timed out";
  return code ? `${error.message} (${code})` : error.message;
}
