import type { NotifyEvent } from "./events.ts";
import type { NotifyLogger } from "./logger.ts";

export type ChannelName = "slack" | "email";

/** What one channel did with one event. `error` is already redacted. */
export interface ChannelResult {
  channel: ChannelName;
  ok: boolean;
  attempts: number;
  error?: string;
  /** The HTTP status (Slack) or SMTP response code (email) of the last failed attempt. */
  status?: number;
}

/** A destination for events. `send` never throws: failures come back as `{ok: false, error}`. */
export interface NotifyChannel {
  readonly name: ChannelName;
  send(event: NotifyEvent, log: NotifyLogger): Promise<ChannelResult>;
  /** Strings this channel must never print (its webhook path, its SMTP password). */
  readonly secrets: readonly string[];
  close?(): void;
}
