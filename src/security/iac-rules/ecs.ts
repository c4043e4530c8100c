import { positionOf } from "../files.ts";
import { findKey } from "../hcl-text.ts";
import { blockFinding, blocksOf, type TfBlock, type TfModule } from "../iac-model.ts";
import { makeFinding } from "../suppress.ts";
import type { Finding, RuleMeta } from "../types.ts";
import { iacRule, isLiteralValue, isSecretName } from "./rule.ts";

export const ECS_NON_ROOT = iacRule(
  "HBS-IAC-020",
  "high",
  "ECS container runs as root (no non-root `user`)",
  'Set "user" in the container definition to a non-root UID:GID (e.g. "10001:10001") that the image creates.',
);
export const ECS_READ_ONLY_ROOT = iacRule(
  "HBS-IAC-021",
  "medium",
  "ECS container root filesystem is writable",
  "Set readonlyRootFilesystem = true; give the task scratch space through a mounted volume (or ephemeral storage path).",
  { checkov: ["CKV_AWS_336"] },
);
export const ECS_LOGGING = iacRule(
  "HBS-IAC-022",
  "medium",
  "ECS container without a logConfiguration",
  'Add logConfiguration { logDriver = "awslogs", options = { awslogs-group, awslogs-region, awslogs-stream-prefix } }.',
);
export const ECS_PLAINTEXT_SECRETS = iacRule(
  "HBS-IAC-023",
  "critical",
  "ECS container environment variable with a secret-looking name holds a literal value",
  'Move it to "secrets" = [{ name, valueFrom = <Secrets Manager or SSM ARN> }] and let the execution role read it.',
  { trivy: ["AVD-AWS-0036"] },
);
export const ECS_PRIVILEGED = iacRule(
  "HBS-IAC-024",
  "high",
  "ECS container runs privileged",
  "Remove privileged = true (Fargate does not support it, and no mirror task needs it).",
  { checkov: ["CKV_AWS_334"] },
);

export const ECS_RULES: RuleMeta[] = [
  ECS_NON_ROOT,
  ECS_READ_ONLY_ROOT,
  ECS_LOGGING,
  ECS_PLAINTEXT_SECRETS,
  ECS_PRIVILEGED,
];

type Container = Record<string, unknown>;

/** The container definitions: decoded jsonencode, a JSON string, or null when not statically known. */
function containers(module: TfModule, value: unknown): Container[] | null {
  let decoded: unknown;
  if (typeof value === "string" && module.decoded.has(value)) decoded = module.decoded.get(value);
  else if (typeof value === "string" && value.trim().startsWith("[")) {
    try {
      decoded = JSON.parse(value);
    } catch {
      return null;
    }
  } else if (Array.isArray(value)) decoded = value;
  if (!Array.isArray(decoded)) return null;
  return decoded.filter((c): c is Container => Boolean(c) && typeof c === "object");
}

function isRootUser(user: unknown): boolean {
  if (user === undefined || user === null) return true;
  const text = String(user).trim();
  return text === "" || /^(root|0)(:.*)?$/.test(text);
}

export function checkEcs(module: TfModule): Finding[] {
  const findings: Finding[] = [];
  for (const task of blocksOf(module, "aws_ecs_task_definition")) {
    const value = task.body.container_definitions;
    if (value === undefined) continue;
    const defs = containers(module, value);
    if (defs === null) {
      findings.push(...checkRawText(task, typeof value === "string" ? value : JSON.stringify(value)));
      continue;
    }
    for (const def of defs) {
      const name = String(def.name ?? "container");
      const at = (key: string) => ({ key: keyOr(task, key), match: `${name}:${key}` });
      if (isRootUser(def.user)) {
        findings.push(
          blockFinding(
            ECS_NON_ROOT,
            task,
            `container "${name}" runs as ${def.user ? `"${def.user}"` : "root"}`,
            at("user"),
          ),
        );
      }
      if (def.readonlyRootFilesystem !== true && def.readonlyRootFilesystem !== "true") {
        findings.push(
          blockFinding(
            ECS_READ_ONLY_ROOT,
            task,
            `container "${name}" has a writable root filesystem`,
            at("readonlyRootFilesystem"),
          ),
        );
      }
      if (def.logConfiguration === undefined) {
        findings.push(
          blockFinding(ECS_LOGGING, task, `container "${name}" has no logConfiguration`, {
            key: "container_definitions",
            match: `${name}:logConfiguration`,
          }),
        );
      }
      if (def.privileged === true || def.privileged === "true") {
        findings.push(
          blockFinding(ECS_PRIVILEGED, task, `container "${name}" is privileged`, at("privileged")),
        );
      }
      const environment = Array.isArray(def.environment) ? (def.environment as Container[]) : [];
      for (const variable of environment) {
        const varName = String(variable.name ?? "");
        if (isSecretName(varName) && isLiteralValue(variable.value)) {
          findings.push(secretFinding(task, name, varName));
        }
      }
    }
  }
  return findings;
}

/** Where `key` is in the task block, or the container_definitions attribute when it is absent. */
function keyOr(task: TfBlock, key: string): string {
  return findKey(task.text, key, task.start, task.end) >= 0 ? key : "container_definitions";
}

function secretFinding(task: TfBlock, container: string, variable: string): Finding {
  const needle = `"${variable}"`;
  const index = task.text.indexOf(needle, task.start);
  const offset = index >= 0 && index < task.end ? index : task.start;
  const { line, col } = positionOf(task.text, offset);
  return makeFinding(ECS_PLAINTEXT_SECRETS, {
    file: task.file,
    line,
    col,
    match: `${task.address}:${container}:${variable}`,
    message: `${task.address}: container "${container}" sets ${variable} as a plaintext environment variable`,
  });
}

/** Fallback for container definitions that are not literal (templatefile(), merge()): inspect the text. */
function checkRawText(task: TfBlock, text: string): Finding[] {
  const findings: Finding[] = [];
  const user = /"?user"?\s*[=:]\s*"([^"]*)"/.exec(text);
  if (!user || isRootUser(user[1])) {
    findings.push(
      blockFinding(ECS_NON_ROOT, task, "container definitions set no non-root user", {
        key: "container_definitions",
        match: "user",
      }),
    );
  }
  if (!/"?readonlyRootFilesystem"?\s*[=:]\s*true/.test(text)) {
    findings.push(
      blockFinding(
        ECS_READ_ONLY_ROOT,
        task,
        "container definitions do not set readonlyRootFilesystem = true",
        {
          key: "container_definitions",
          match: "readonlyRootFilesystem",
        },
      ),
    );
  }
  if (!/"?logConfiguration"?\s*[=:]/.test(text)) {
    findings.push(
      blockFinding(ECS_LOGGING, task, "container definitions have no logConfiguration", {
        key: "container_definitions",
        match: "logConfiguration",
      }),
    );
  }
  for (const m of text.matchAll(
    /"?name"?\s*[=:]\s*"([^"]+)"\s*,?\s*"?value"?\s*[=:]\s*("[^"]*"|[^\s,}]+)/g,
  )) {
    const name = m[1] ?? "";
    const value = (m[2] ?? "").replace(/^"|"$/g, "");
    if (isSecretName(name) && isLiteralValue(value) && !/^(var|local|module|data)\./.test(value)) {
      findings.push(secretFinding(task, "container", name));
    }
  }
  return findings;
}
