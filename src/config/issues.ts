import type * as z from "zod";
import type { PathSegment } from "./diagnostics.ts";
import { formatPath } from "./diagnostics.ts";
import { exampleAt, schemaNodeAt } from "./json-schema.ts";
import { closestMatch } from "./suggest.ts";
import { unknownBottleTag } from "./tags.ts";

/** A schema problem before it is given a file position. */
export interface Finding {
  path: PathSegment[];
  /** Point at the key (unknown keys, bad names) rather than the value. */
  at: "key" | "value";
  message: string;
  fix: string;
}

type Issue = z.core.$ZodIssue;

/** Reads the value at `path` in the parsed (untyped) YAML. */
export function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    if (!Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}

/** A short, safe rendering of a user value for messages. */
export function describeValue(value: unknown): string {
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 37)}…` : value;
    return `the text ${JSON.stringify(shown)}`;
  }
  if (typeof value === "number") return `the number ${String(value)}`;
  return `${typeof value} ${String(value)}`;
}

function shown(value: unknown): string {
  if (typeof value === "string") return value.length > 40 ? `${value.slice(0, 37)}…` : value;
  return String(value);
}

function keyName(path: readonly PathSegment[]): string {
  const last = path[path.length - 1];
  return last === undefined ? "(top level)" : String(last);
}

function parentLabel(path: readonly PathSegment[]): string {
  const parent = formatPath(path.slice(0, -1));
  return parent === "" ? "at the top level" : `under \`${parent}\``;
}

function rangeText(path: readonly PathSegment[]): string | undefined {
  const node = schemaNodeAt(path);
  if (!node) return undefined;
  const low =
    node.minimum !== undefined
      ? `${node.minimum}`
      : node.exclusiveMinimum !== undefined
        ? `more than ${node.exclusiveMinimum}`
        : undefined;
  if (low !== undefined && node.maximum !== undefined && node.minimum !== undefined) {
    return `${node.minimum} to ${node.maximum}`;
  }
  if (low !== undefined && node.maximum !== undefined) return `${low} and at most ${node.maximum}`;
  return low ?? (node.maximum !== undefined ? `at most ${node.maximum}` : undefined);
}

const TYPE_WORDS: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "text",
  boolean: "true or false",
  object: "a mapping of keys",
  array: "a list",
  record: "a mapping of keys",
};

function typeFix(path: readonly PathSegment[], expected: string, raw: unknown): string {
  const key = keyName(path);
  const example = exampleAt(path);
  if (
    (expected === "number" || expected === "int") &&
    typeof raw === "string" &&
    /^-?[0-9.]+$/.test(raw.trim())
  ) {
    return `remove the quotes: \`${key}: ${raw.trim()}\``;
  }
  if (expected === "boolean" && typeof raw === "string") {
    return `write \`${key}: true\` or \`${key}: false\` (in YAML 1.2, yes/no/on/off are text)`;
  }
  if (typeof raw === "number" && !Number.isFinite(raw))
    return `use a finite number, e.g. \`${key}: ${example ?? 1}\``;
  if (expected === "object" || expected === "record") {
    return `write the keys of \`${key}\` indented below it (see docs/config.md)`;
  }
  if (expected === "array") return `write a list, e.g. \`${key}: ${example ?? "[a, b]"}\``;
  return example !== undefined ? `write e.g. \`${key}: ${example}\`` : "see docs/config.md for this key";
}

function missingKey(path: PathSegment[]): Finding {
  const key = keyName(path);
  const example = exampleAt(path);
  const isSection = schemaNodeAt(path)?.type === "object";
  return {
    path,
    at: "value",
    message: `missing required key \`${key}\` ${parentLabel(path)}`,
    fix: isSection
      ? `add a \`${key}:\` section ${parentLabel(path)} (see the example config.yaml and docs/config.md)`
      : `add \`${key}: ${example ?? "…"}\` ${parentLabel(path)}`,
  };
}

function invalidType(issue: Extract<Issue, { code: "invalid_type" }>, root: unknown): Finding[] {
  const path = issue.path as PathSegment[];
  const raw = valueAt(root, path);
  const key = keyName(path);
  const expected = String(issue.expected);
  const example = exampleAt(path);
  const integer = expected === "number" && schemaNodeAt(path)?.type === "integer";
  if (raw === null) {
    return [
      {
        path,
        at: "value",
        message: `\`${formatPath(path)}\` is empty`,
        fix:
          example !== undefined
            ? `set it, e.g. \`${key}: ${example}\``
            : `set it, or delete the key \`${key}\``,
      },
    ];
  }
  return [
    {
      path,
      at: "value",
      message: `\`${formatPath(path)}\` must be ${TYPE_WORDS[integer ? "int" : expected] ?? expected}, not ${describeValue(raw)}`,
      fix: typeFix(path, expected, raw),
    },
  ];
}

function invalidValue(issue: Extract<Issue, { code: "invalid_value" }>, root: unknown): Finding[] {
  const path = issue.path as PathSegment[];
  const raw = valueAt(root, path);
  const allowed = issue.values.map(String);
  const suggestion = typeof raw === "string" ? closestMatch(raw, allowed) : undefined;
  const didYouMean = suggestion ? ` — did you mean \`${suggestion}\`?` : "";
  const joined = formatPath(path);
  // A bottle tag goes through the one known-tag check `--tags` uses too (same message, same suggestion).
  const tag =
    /^mirror\.tags\[\d+\]$/.test(joined) && typeof raw === "string" ? unknownBottleTag(raw) : undefined;
  if (tag) {
    const fix = tag.suggestion ? `write \`${tag.suggestion}\`` : `use one of: ${allowed.join(", ")}`;
    return [{ path, at: "value", message: tag.message, fix }];
  }
  let what = `\`${joined}\` cannot be ${describeValue(raw)}`;
  if (joined.endsWith("aws_region")) what = `unknown AWS region \`${shown(raw)}\``;
  else if (joined.endsWith("task_cpu")) what = `Fargate has no task_cpu ${shown(raw)}`;
  const fix = suggestion ? `write \`${suggestion}\`` : `use one of: ${allowed.join(", ")}`;
  return [{ path, at: "value", message: `${what}${didYouMean}`, fix }];
}

function sizeIssue(issue: Extract<Issue, { code: "too_big" | "too_small" }>, root: unknown): Finding[] {
  const path = issue.path as PathSegment[];
  const raw = valueAt(root, path);
  const joined = formatPath(path);
  const origin = String(issue.origin);
  if (origin === "array") {
    const min = Number((issue as { minimum?: unknown }).minimum ?? 1);
    return [
      {
        path,
        at: "value",
        message: `\`${joined}\` must list at least ${min} item${min === 1 ? "" : "s"}`,
        fix: `add one, e.g. \`${keyName(path)}: ${exampleAt(path) ?? "[…]"}\``,
      },
    ];
  }
  if (origin === "string") {
    return [
      {
        path,
        at: "value",
        message: `\`${joined}\` is ${issue.code === "too_small" ? "too short" : "too long"}`,
        fix: `write e.g. \`${keyName(path)}: ${exampleAt(path) ?? "…"}\``,
      },
    ];
  }
  const range = rangeText(path);
  const notPositive = issue.code === "too_small" && typeof raw === "number" && raw <= 0;
  const message = notPositive
    ? `\`${joined}\` must be positive, not ${shown(raw)}`
    : `\`${joined}\` is ${issue.code === "too_big" ? "too large" : "too small"}: ${shown(raw)}`;
  return [
    {
      path,
      at: "value",
      message,
      fix: range
        ? `use ${range}, e.g. \`${keyName(path)}: ${exampleAt(path) ?? ""}\``
        : "use a smaller number",
    },
  ];
}

/** How to describe a value that fails its pattern, by key (or, for list items, by the list's key). */
const FORMAT_RULES: Record<string, { what: string; how: string }> = {
  name: { what: "project name", how: "2-40 lowercase letters, digits and hyphens, starting with a letter" },
  include: { what: "formula name", how: "the lowercase name `brew info` shows" },
  exclude: { what: "formula name", how: "the lowercase name `brew info` shows" },
  channel: { what: "Slack channel", how: "a lowercase channel name without spaces, or a channel ID" },
};

function invalidFormat(issue: Extract<Issue, { code: "invalid_format" }>, root: unknown): Finding[] {
  const path = issue.path as PathSegment[];
  const raw = valueAt(root, path);
  const joined = formatPath(path);
  if (issue.format === "email") {
    return [
      {
        path,
        at: "value",
        message: `invalid email address \`${shown(raw)}\` in \`${joined}\``,
        fix: "write a full address such as devops@example.com (one per list item)",
      },
    ];
  }
  if (issue.format === "url") {
    return [
      {
        path,
        at: "value",
        message: `\`${joined}\` is not an http(s) URL: \`${shown(raw)}\``,
        fix: `write e.g. \`${keyName(path)}: ${exampleAt(path) ?? "https://…"}\``,
      },
    ];
  }
  const rule = FORMAT_RULES[keyName(path)] ?? FORMAT_RULES[String(path[path.length - 2])];
  return [
    {
      path,
      at: "value",
      message: `\`${shown(raw)}\` is not a valid ${rule?.what ?? "value"} (\`${joined}\`)`,
      fix: `${rule ? `use ${rule.how}, ` : ""}e.g. \`${exampleAt(path) ?? "…"}\``,
    },
  ];
}

function unknownKeys(issue: Extract<Issue, { code: "unrecognized_keys" }>): Finding[] {
  const parent = issue.path as PathSegment[];
  const known = Object.keys(schemaNodeAt(parent)?.properties ?? {});
  return issue.keys.map((key) => {
    const suggestion = closestMatch(key, known);
    const where = parent.length ? ` in \`${formatPath(parent)}\`` : "";
    return {
      path: [...parent, key],
      at: "key" as const,
      message: `unknown key \`${key}\`${where}${suggestion ? ` — did you mean \`${suggestion}\`?` : ""}`,
      fix: suggestion
        ? `rename it to \`${suggestion}\``
        : `remove it; the keys allowed here are ${known.map((k) => `\`${k}\``).join(", ")}`,
    };
  });
}

function invalidKey(issue: Extract<Issue, { code: "invalid_key" }>): Finding[] {
  const path = issue.path as PathSegment[];
  const name = keyName(path);
  return [
    {
      path,
      at: "key",
      message: `environment name \`${shown(name)}\` is not valid`,
      fix: `rename it to lowercase letters, digits and hyphens starting with a letter (at most 16 characters), e.g. \`${name.toLowerCase().replace(/[^a-z0-9-]/g, "") || "dev"}\``,
    },
  ];
}

/** Turns zod issues into findings that say what is wrong and how to fix it. */
export function findingsFromIssues(issues: readonly Issue[], root: unknown): Finding[] {
  const findings: Finding[] = [];
  for (const issue of issues) {
    const path = issue.path as PathSegment[];
    if (
      issue.code !== "unrecognized_keys" &&
      issue.code !== "invalid_key" &&
      valueAt(root, path) === undefined
    ) {
      findings.push(missingKey(path));
      continue;
    }
    switch (issue.code) {
      case "invalid_type":
        findings.push(...invalidType(issue, root));
        break;
      case "invalid_value":
        findings.push(...invalidValue(issue, root));
        break;
      case "too_big":
      case "too_small":
        findings.push(...sizeIssue(issue, root));
        break;
      case "invalid_format":
        findings.push(...invalidFormat(issue, root));
        break;
      case "unrecognized_keys":
        findings.push(...unknownKeys(issue));
        break;
      case "invalid_key":
        findings.push(...invalidKey(issue));
        break;
      default:
        findings.push({
          path: issue.path as PathSegment[],
          at: "value",
          message: `\`${formatPath(issue.path as PathSegment[]) || "(top level)"}\`: ${issue.message}`,
          fix: "see docs/config.md for the allowed values",
        });
    }
  }
  return findings;
}
