import type { Redactor } from "./redact.ts";

/**
 * Where notify writes what happened. Structurally compatible with @aws-lambda-powertools/logger's Logger
 * (message, then an object of fields), so the Lambda handlers can pass theirs.
 */
export interface NotifyLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: NotifyLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** One JSON line per entry on stderr: the default outside the CLI (CloudWatch picks it up in AWS). */
export function stderrLogger(): NotifyLogger {
  const write =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      process.stderr.write(`${JSON.stringify({ level, source: "notify", message, ...fields })}\n`);
    };
  return { info: write("info"), warn: write("warn"), error: write("error") };
}

/** Wraps a logger so every message and every string inside its fields passes through `redactor`. */
export function redactingLogger(inner: NotifyLogger, redactor: Redactor): NotifyLogger {
  const wrap =
    (level: keyof NotifyLogger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      const safeMessage = redactor(message);
      if (fields === undefined) inner[level](safeMessage);
      else inner[level](safeMessage, redactValue(fields, redactor, 0) as Record<string, unknown>);
    };
  return { info: wrap("info"), warn: wrap("warn"), error: wrap("error") };
}

function redactValue(value: unknown, redactor: Redactor, depth: number): unknown {
  if (typeof value === "string") return redactor(value);
  if (value instanceof Error) return redactor(`${value.name}: ${value.message}`);
  if (depth > 5 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redactor, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, redactValue(item, redactor, depth + 1)]),
  );
}
