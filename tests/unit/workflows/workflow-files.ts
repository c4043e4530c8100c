import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** Helpers shared by the workflow tests: load the workflows and local actions, walk their steps. */

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  shell?: string;
}

export interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  "runs-on"?: string;
  "timeout-minutes"?: number;
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
  environment?: string | { name: string };
  strategy?: { "fail-fast"?: boolean; matrix?: { include?: Array<Record<string, string>> } };
  concurrency?: { group: string; "cancel-in-progress"?: boolean | string };
  permissions?: Record<string, string> | string;
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  steps?: Step[];
}

export interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: unknown;
  jobs: Record<string, Job>;
}

export interface Action {
  name: string;
  inputs?: Record<string, { required?: boolean; default?: string }>;
  runs: { using: string; steps: Step[] };
}

export interface LoadedFile<T> {
  /** Path relative to the repository root, `/`-separated. */
  path: string;
  text: string;
  doc: T;
}

function loadYaml<T>(path: string): LoadedFile<T> {
  const text = readFileSync(join(REPO_ROOT, path), "utf8");
  return { path, text, doc: parse(text) as T };
}

export const WORKFLOW_NAMES = ["cicd.yml", "test.yml", "security.yml", "drift.yml"] as const;

export function loadWorkflows(): LoadedFile<Workflow>[] {
  return WORKFLOW_NAMES.map((name) => loadYaml<Workflow>(`.github/workflows/${name}`));
}

export function loadWorkflow(name: (typeof WORKFLOW_NAMES)[number]): Workflow {
  return loadYaml<Workflow>(`.github/workflows/${name}`).doc;
}

/** Every composite action under .github/actions/<name>/action.yml. */
export function loadActions(): LoadedFile<Action>[] {
  const dir = join(REPO_ROOT, ".github/actions");
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, "action.yml")))
    .map((entry) => loadYaml<Action>(relative(REPO_ROOT, join(dir, entry.name, "action.yml"))));
}

export interface RunScript {
  /** e.g. `.github/workflows/cicd.yml › deploy-dev › Deploy`. */
  where: string;
  script: string;
  step: Step;
}

/** The `run:` scripts of every workflow job and every composite action. */
export function allRunScripts(): RunScript[] {
  const scripts: RunScript[] = [];
  for (const file of loadWorkflows()) {
    for (const [jobId, job] of Object.entries(file.doc.jobs)) {
      for (const step of job.steps ?? []) {
        if (typeof step.run === "string") {
          scripts.push({ where: `${file.path} › ${jobId} › ${step.name ?? "?"}`, script: step.run, step });
        }
      }
    }
  }
  for (const file of loadActions()) {
    for (const step of file.doc.runs.steps) {
      if (typeof step.run === "string") {
        scripts.push({ where: `${file.path} › ${step.name ?? "?"}`, script: step.run, step });
      }
    }
  }
  return scripts;
}

export function needsOf(job: Job): string[] {
  if (job.needs === undefined) return [];
  return Array.isArray(job.needs) ? job.needs : [job.needs];
}

export function environmentOf(job: Job): string | undefined {
  return typeof job.environment === "string" ? job.environment : job.environment?.name;
}

/**
 * Evaluates the subset of the GitHub Actions expression language these workflows use (`==`, `!=`, `&&`,
 * `||`, `!`, string literals, context paths, startsWith/contains and the status functions) against a
 * context, so a test can ask "which environment does a push of refs/heads/main go to?".
 * `&&` / `||` return operands as in GitHub (and JavaScript). String comparison is case-sensitive here.
 */
export function evaluate(expression: string, context: ExpressionContext): unknown {
  const text = expression.trim();
  const whole = /^\$\{\{([\s\S]*?)\}\}$/.exec(text);
  if (whole) return evaluateBody(whole[1] ?? "", context);
  // A string with embedded expressions (`deploy-${{ … }}`): substitute each.
  if (text.includes("${{")) {
    return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_m, body: string) => String(evaluateBody(body, context)));
  }
  return evaluateBody(text, context);
}

function evaluateBody(expression: string, context: ExpressionContext): unknown {
  const body = expression
    .replace(
      /\b(needs|steps|matrix)\.([A-Za-z0-9_-]+)/g,
      (_m, root: string, key: string) => `${root}[${JSON.stringify(key)}]`,
    )
    .replace(/([^=!])==(?!=)/g, "$1===")
    .replace(/!=(?!=)/g, "!==");
  if (/[;`{}]|=>|\bfunction\b|\bimport\b/.test(body))
    throw new Error(`unsupported expression: ${expression}`);
  const status = context.status ?? "success";
  const functions = {
    startsWith: (text: unknown, prefix: unknown) => String(text).startsWith(String(prefix)),
    contains: (haystack: unknown, needle: unknown) =>
      Array.isArray(haystack) ? haystack.includes(needle) : String(haystack).includes(String(needle)),
    always: () => true,
    success: () => status === "success",
    failure: () => status === "failure",
    cancelled: () => status === "cancelled",
  };
  const names = [
    "github",
    "needs",
    "steps",
    "inputs",
    "matrix",
    "secrets",
    "vars",
    ...Object.keys(functions),
  ];
  const values = [
    context.github ?? {},
    context.needs ?? {},
    context.steps ?? {},
    context.inputs ?? {},
    context.matrix ?? {},
    context.secrets ?? {},
    context.vars ?? {},
    ...Object.values(functions),
  ];
  return new Function(...names, `return (${body});`)(...values);
}

export interface ExpressionContext {
  github?: Record<string, unknown>;
  needs?: Record<string, { result?: string; outputs?: Record<string, string> }>;
  steps?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  matrix?: Record<string, unknown>;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  /** What success()/failure()/cancelled() report: the state of the job's dependencies. */
  status?: "success" | "failure" | "cancelled";
}
