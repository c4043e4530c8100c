import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { RunReport } from "../mirror/report.ts";

/**
 * Logs and metrics of a function, as the core needs them: structured JSON log lines carrying the run id
 * (Powertools Logger) and CloudWatch metrics in EMF on stdout (Powertools Metrics). Tests pass
 * memoryTelemetry() to read what was logged and measured.
 */
export interface Telemetry {
  /** Adds `runId` (and anything else) to every following log line. */
  setKeys(keys: Record<string, string | number>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
  /** bottles, bytes, failures, duration of one (partial) execution. */
  recordRun(metrics: RunMetrics): void;
  /** Writes the stored metrics (EMF) — call once at the end of each invocation. */
  flush(): void;
}

export interface RunMetrics {
  bottles: number;
  bytes: number;
  failures: number;
  durationMs: number;
}

export const METRICS_NAMESPACE = "HomebrewBottlesSync";

export function runMetrics(report: RunReport): RunMetrics {
  return {
    bottles: report.counts.transferred + report.counts.adopted,
    bytes: report.bytes.transferred,
    failures: report.counts.failed,
    durationMs: report.durationsMs.total ?? Date.parse(report.finishedAt) - Date.parse(report.startedAt),
  };
}

/** Powertools Logger + Metrics; `role` names the service (orchestrator, worker, ecs-task) unless overridden. */
export function powertoolsTelemetry(role: string, environment: string): Telemetry {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME?.trim() || `hbsync-${role}`;
  const logger = new Logger({ serviceName, persistentKeys: { role, environment } });
  const metrics = new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE?.trim() || METRICS_NAMESPACE,
    serviceName,
    defaultDimensions: { environment, role },
  });
  let recorded = false;
  return {
    setKeys: (keys) => logger.appendKeys(keys),
    info: (message, extra) => (extra ? logger.info(message, extra) : logger.info(message)),
    warn: (message, extra) => (extra ? logger.warn(message, extra) : logger.warn(message)),
    error: (message, extra) => (extra ? logger.error(message, extra) : logger.error(message)),
    recordRun(run) {
      recorded = true;
      metrics.addMetric("bottles", MetricUnit.Count, run.bottles);
      metrics.addMetric("bytes", MetricUnit.Bytes, run.bytes);
      metrics.addMetric("failures", MetricUnit.Count, run.failures);
      metrics.addMetric("duration", MetricUnit.Milliseconds, run.durationMs);
    },
    flush() {
      if (recorded) metrics.publishStoredMetrics();
      recorded = false;
    },
  };
}

export interface MemoryTelemetry extends Telemetry {
  lines: Array<{ level: "info" | "warn" | "error"; message: string; keys: Record<string, unknown> }>;
  runs: RunMetrics[];
  flushes: number;
}

/** For tests: remembers log lines (with the keys set at the time) and recorded metrics. */
export function memoryTelemetry(): MemoryTelemetry {
  let keys: Record<string, unknown> = {};
  const telemetry: MemoryTelemetry = {
    lines: [],
    runs: [],
    flushes: 0,
    setKeys: (more) => {
      keys = { ...keys, ...more };
    },
    info: (message, extra) => telemetry.lines.push({ level: "info", message, keys: { ...keys, ...extra } }),
    warn: (message, extra) => telemetry.lines.push({ level: "warn", message, keys: { ...keys, ...extra } }),
    error: (message, extra) => telemetry.lines.push({ level: "error", message, keys: { ...keys, ...extra } }),
    recordRun: (run) => telemetry.runs.push(run),
    flush: () => {
      telemetry.flushes++;
    },
  };
  return telemetry;
}
