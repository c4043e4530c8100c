/** The public surface of src/notify: what pipeline, runtime and cli import. */
export type { ChannelName, ChannelResult } from "./channel.ts";
export { NotifyDataError, NotifyError } from "./errors.ts";
export {
  EVENT_TYPES,
  type EventData,
  type NotifyEvent,
  type NotifyEventType,
  normaliseEventType,
  parseEvent,
  parseEventData,
  parseEventJson,
} from "./events.ts";
export { type FromEnvOptions, type NotifyConfig, notificationManagerFromEnv } from "./from-env.ts";
export { type NotifyLogger, silentLogger, stderrLogger } from "./logger.ts";
export {
  type ChannelStatus,
  NotificationManager,
  type NotificationManagerOptions,
  type NotifyResult,
} from "./manager.ts";
export { redact } from "./redact.ts";
export { sampleEvent } from "./samples.ts";
