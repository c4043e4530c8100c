import {
  FARGATE_MEMORY_BY_CPU,
  LAMBDA_MEMORY_MAX_MB,
  LAMBDA_MEMORY_MIN_MB,
  PRODUCTION_ENVIRONMENTS,
} from "./constants.ts";
import { formatPath, type PathSegment } from "./diagnostics.ts";
import type { Finding } from "./issues.ts";
import { valueAt } from "./issues.ts";
import { intervalMinutesLowerBound, parseSchedule } from "./schedule.ts";

/**
 * Cross-field rules and warnings. They read the parsed YAML defensively (it may not have passed the
 * schema) so one run reports every problem; a value of the wrong type is left to the schema's error.
 */
export interface RuleFindings {
  errors: Finding[];
  warnings: Finding[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function entries(value: unknown): Array<[string, unknown]> {
  return isRecord(value) ? Object.entries(value) : [];
}

const DEFAULT_CPU = 2048;
const DEFAULT_MEMORY = 8192;

function fargatePair(root: unknown, env: string, out: RuleFindings): void {
  const global: PathSegment[] = ["resources", "ecs"];
  const local: PathSegment[] = ["environments", env, "resources", "ecs"];
  const pick = (key: string): { value: unknown; path: PathSegment[] | undefined } => {
    const own = valueAt(root, [...local, key]);
    if (own !== undefined) return { value: own, path: [...local, key] };
    const shared = valueAt(root, [...global, key]);
    if (shared !== undefined) return { value: shared, path: [...global, key] };
    return { value: undefined, path: undefined };
  };
  const cpu = pick("task_cpu");
  const memory = pick("task_memory");
  const cpuValue = cpu.value ?? DEFAULT_CPU;
  const memoryValue = memory.value ?? DEFAULT_MEMORY;
  if (typeof cpuValue !== "number" || typeof memoryValue !== "number") return;
  const valid = FARGATE_MEMORY_BY_CPU[cpuValue];
  if (!valid || valid.includes(memoryValue)) return;
  const overridden = cpu.path?.[0] === "environments" || memory.path?.[0] === "environments";
  const path =
    memory.path?.[0] === "environments"
      ? memory.path
      : cpu.path?.[0] === "environments"
        ? cpu.path
        : (memory.path ?? cpu.path ?? ["environments", env]);
  out.errors.push({
    path,
    at: "value",
    message: `Fargate does not accept task_cpu ${cpuValue} with task_memory ${memoryValue}${overridden ? ` (environment ${env})` : ""}`,
    fix: `with task_cpu ${cpuValue}, set task_memory to one of ${valid.join(", ")} (MiB)`,
  });
}

function lambdaMemory(root: unknown, base: PathSegment[], out: RuleFindings): void {
  for (const key of ["orchestrator_memory", "sync_memory"]) {
    const path = [...base, key];
    const value = valueAt(root, path);
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) continue;
    if (value < LAMBDA_MEMORY_MIN_MB || value > LAMBDA_MEMORY_MAX_MB) {
      out.warnings.push({
        path,
        at: "value",
        message: `\`${formatPath(path)}\` is ${value} MB, outside what Lambda allows (${LAMBDA_MEMORY_MIN_MB}-${LAMBDA_MEMORY_MAX_MB} MB)`,
        fix: `use ${LAMBDA_MEMORY_MIN_MB}-${LAMBDA_MEMORY_MAX_MB}; 512 suits the orchestrator, 3008 the sync worker`,
      });
    }
  }
}

function environmentRules(root: unknown, env: string, settings: unknown, out: RuleFindings): void {
  if (!isRecord(settings)) return;
  const base: PathSegment[] = ["environments", env];
  const production = PRODUCTION_ENVIRONMENTS.includes(env);
  const expression = settings.schedule_expression;
  if (typeof expression === "string") {
    const result = parseSchedule(expression);
    const path = [...base, "schedule_expression"];
    if (!result.ok) {
      out.errors.push({
        path,
        at: "value",
        message: `invalid schedule_expression: ${result.message}`,
        fix: `write an EventBridge expression, e.g. \`schedule_expression: "${result.example}"\``,
      });
    } else if (production && intervalMinutesLowerBound(result.schedule) < 60) {
      out.warnings.push({
        path,
        at: "value",
        message: `${env} runs \`${expression}\` as often as every ${intervalMinutesLowerBound(result.schedule)} minutes, more often than hourly`,
        fix: `schedule ${env} at most hourly, e.g. \`schedule_expression: "cron(0 3 * * ? *)"\` (daily) or "rate(1 hour)"`,
      });
    }
  }
  if (production && settings.enable_fargate_spot === true) {
    out.warnings.push({
      path: [...base, "enable_fargate_spot"],
      at: "value",
      message: `Fargate Spot in ${env}: a large sync can be interrupted with two minutes' notice`,
      fix: `set \`enable_fargate_spot: false\` for ${env} (interrupted runs resume, but finish later)`,
    });
  }
  fargatePair(root, env, out);
  lambdaMemory(root, [...base, "resources", "lambda"], out);
}

function isLoopback(url: URL): boolean {
  return ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

function mirrorRules(root: unknown, out: RuleFindings): void {
  for (const key of ["api", "registry", "brew_git"]) {
    const path: PathSegment[] = ["mirror", "upstream", key];
    const value = valueAt(root, path);
    if (typeof value !== "string" || !URL.canParse(value)) continue;
    const url = new URL(value);
    if (url.protocol === "http:" && !isLoopback(url)) {
      out.warnings.push({
        path,
        at: "value",
        message: `\`${formatPath(path)}\` is not https: ${key === "brew_git" ? "brew's code" : "the index and bottles"} would travel unencrypted`,
        fix: `use https://${url.host}${url.pathname === "/" ? "" : url.pathname}`,
      });
    }
  }
  const tags = valueAt(root, ["mirror", "tags"]);
  if (Array.isArray(tags)) {
    tags.forEach((tag, index) => {
      if (tags.indexOf(tag) !== index) {
        out.warnings.push({
          path: ["mirror", "tags", index],
          at: "value",
          message: `bottle tag \`${String(tag)}\` is listed twice`,
          fix: "remove the repeat",
        });
      }
    });
  }
  const layouts = valueAt(root, ["mirror", "layouts"]);
  if (Array.isArray(layouts) && layouts.length > 0 && !layouts.includes("flat")) {
    out.errors.push({
      path: ["mirror", "layouts"],
      at: "value",
      message:
        "`mirror.layouts` must include `flat`: the flat tree is the mirror's record (state, verify, prune) and the OCI names are made from it",
      fix: "write `layouts: [flat, oci]`",
    });
  }
  const include = valueAt(root, ["mirror", "formulae", "include"]);
  const exclude = valueAt(root, ["mirror", "formulae", "exclude"]);
  if (Array.isArray(include) && Array.isArray(exclude)) {
    exclude.forEach((name, index) => {
      if (typeof name === "string" && include.includes(name)) {
        out.warnings.push({
          path: ["mirror", "formulae", "exclude", index],
          at: "value",
          message: `formula \`${name}\` is both included and excluded; exclude wins`,
          fix: `remove \`${name}\` from one of the two lists`,
        });
      }
    });
  }
}

function notificationRules(root: unknown, out: RuleFindings): void {
  const slack = valueAt(root, ["notifications", "slack"]);
  if (isRecord(slack) && slack.enabled === true && (slack.channel === undefined || slack.channel === null)) {
    out.errors.push({
      path: ["notifications", "slack", "channel"],
      at: "value",
      message: "Slack notifications are enabled but no channel is set",
      fix: 'add `channel: "#platform-updates"` under notifications.slack (the webhook URL itself goes in SLACK_WEBHOOK_URL)',
    });
  }
  const email = valueAt(root, ["notifications", "email"]);
  const addresses = isRecord(email) ? email.addresses : undefined;
  if (
    isRecord(email) &&
    email.enabled === true &&
    (addresses === undefined || (Array.isArray(addresses) && addresses.length === 0))
  ) {
    out.errors.push({
      path: ["notifications", "email", "addresses"],
      at: "value",
      message: "email notifications are enabled but no addresses are listed",
      fix: "add `addresses: [devops@example.com]` under notifications.email, or set `enabled: false`",
    });
  }
}

/** Runs every cross-field rule over the parsed YAML (a mapping at the top level). */
export function checkRules(root: unknown): RuleFindings {
  const out: RuleFindings = { errors: [], warnings: [] };
  const environments = valueAt(root, ["environments"]);
  if (isRecord(environments) && Object.keys(environments).length === 0) {
    out.errors.push({
      path: ["environments"],
      at: "key",
      message: "no environments are defined",
      fix: 'add at least one, e.g. `dev: { aws_region: us-east-1, schedule_expression: "rate(1 day)" }`',
    });
  }
  for (const [env, settings] of entries(environments)) environmentRules(root, env, settings, out);
  lambdaMemory(root, ["resources", "lambda"], out);
  mirrorRules(root, out);
  notificationRules(root, out);
  return out;
}
