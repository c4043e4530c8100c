import { HbsyncError, type HbsyncErrorOptions } from "../shared/errors.ts";

/** The base of every error raised by src/notify. Messages pass through `redact` before they get here. */
export class NotifyError extends HbsyncError {
  constructor(message: string, options: HbsyncErrorOptions = {}) {
    super(message, options);
    this.name = "NotifyError";
  }
}

/** `--data` / `--data-file` does not describe the event: a usage error (exit 2) naming the field. */
export class NotifyDataError extends NotifyError {
  readonly event: string;
  readonly field: string | undefined;

  constructor(message: string, options: { event: string; field?: string; fix?: string; cause?: unknown }) {
    super(message, { kind: "usage", fix: options.fix, cause: options.cause });
    this.name = "NotifyDataError";
    this.event = options.event;
    this.field = options.field;
  }
}

/** One channel could not deliver a message. Carried in a NotifyResult; never thrown to a caller of send(). */
export class ChannelSendError extends NotifyError {
  readonly channel: string;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: {
      channel: string;
      status?: number;
      retryable: boolean;
      retryAfterMs?: number;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = "ChannelSendError";
    this.channel = options.channel;
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}
