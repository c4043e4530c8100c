/**
 * Test support for infra/terraform: parse .tf files with @cdktf/hcl2json (offline, no provider) and walk
 * the result. hcl2json keeps literals as JSON values and expressions as "${...}" strings; blocks become
 * arrays of objects (`statement: [{...}]`), dynamic blocks `dynamic: { statement: [{ content: [{...}] }] }`.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse } from "@cdktf/hcl2json";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const TERRAFORM_DIR = join(REPO_ROOT, "infra/terraform");
export const MODULES_DIR = join(TERRAFORM_DIR, "modules");
export const ENVIRONMENTS_DIR = join(TERRAFORM_DIR, "environments");
export const FIXTURE_ENV_DIR = join(REPO_ROOT, "tests/fixtures/infra/terraform-data-env");
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;

/** Parsed HCL is untyped JSON by nature. */
export type Hcl = Record<string, any>;

const execFileAsync = promisify(execFile);

/** True when a terraform binary answers `terraform version`. */
export async function hasTerraform(): Promise<boolean> {
  try {
    await execFileAsync("terraform", ["version"], { env: terraformEnv() });
    return true;
  } catch {
    return false;
  }
}

/** Environment for running terraform offline and quietly in tests. */
export function terraformEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    CHECKPOINT_DISABLE: "1",
    // An empty CLI config: no ~/.terraformrc warnings, no credentials or mirrors from the host.
    TF_CLI_CONFIG_FILE: join(REPO_ROOT, "tests/fixtures/infra/empty.tfrc"),
    ...extra,
  };
}

/** Every .tf file under dir (recursive), skipping .terraform working directories. */
export async function listTfFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".tf"))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !file.split("/").includes(".terraform"))
    .sort();
}

const parsed = new Map<string, Promise<Hcl>>();

/** Parses one .tf file (cached per path). */
export function parseTf(file: string): Promise<Hcl> {
  let result = parsed.get(file);
  if (!result) {
    result = readFile(file, "utf8").then((text) => parse(relative(REPO_ROOT, file), text) as Promise<Hcl>);
    parsed.set(file, result);
  }
  return result;
}

/** The .tf files of one configuration directory (not recursive), parsed and merged block type by block type. */
export async function parseDir(dir: string): Promise<Hcl> {
  const files = (await readdir(dir)).filter((name) => name.endsWith(".tf")).sort();
  const merged: Hcl = {};
  for (const name of files) {
    const doc = await parseTf(join(dir, name));
    for (const [blockType, value] of Object.entries(doc)) {
      if (Array.isArray(value)) merged[blockType] = [...(merged[blockType] ?? []), ...value];
      else merged[blockType] = deepMergeLabels(merged[blockType] ?? {}, value as Hcl);
    }
  }
  return merged;
}

function deepMergeLabels(into: Hcl, from: Hcl): Hcl {
  const out: Hcl = { ...into };
  for (const [key, value] of Object.entries(from)) {
    if (Array.isArray(value)) out[key] = [...(out[key] ?? []), ...value];
    else if (value && typeof value === "object") out[key] = deepMergeLabels(out[key] ?? {}, value as Hcl);
    else out[key] = value;
  }
  return out;
}

/** Every configuration directory: the modules, the environments and the bootstrap. */
export async function configurationDirs(): Promise<string[]> {
  const files = await listTfFiles(TERRAFORM_DIR);
  return [...new Set(files.map((file) => file.slice(0, file.lastIndexOf("/"))))].sort();
}

export async function moduleDirs(): Promise<string[]> {
  const entries = await readdir(MODULES_DIR, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => join(MODULES_DIR, e.name))
    .sort();
}

export interface VariableDecl {
  name: string;
  /** The type expression without the `${}` wrapper, e.g. `list(string)`; undefined when missing. */
  type: string | undefined;
  description: string | undefined;
  hasDefault: boolean;
  default: unknown;
  validations: number;
}

/** The variables a configuration directory declares. */
export async function variablesOf(dir: string): Promise<VariableDecl[]> {
  const doc = await parseDir(dir);
  const blocks = (doc.variable ?? {}) as Record<string, Hcl[]>;
  return Object.entries(blocks).map(([name, [body = {}]]) => ({
    name,
    type: typeof body.type === "string" ? unwrap(body.type) : undefined,
    description: body.description,
    hasDefault: Object.hasOwn(body, "default"),
    default: body.default,
    validations: Array.isArray(body.validation) ? body.validation.length : 0,
  }));
}

/** `${list(string)}` → `list(string)`; other strings unchanged. */
export function unwrap(expression: string): string {
  const match = /^\$\{([\s\S]*)\}$/.exec(expression);
  return match?.[1] ?? expression;
}

/** Block bodies of every resource (or data source) of a type in a parsed configuration, with their names. */
export function blocksOfType(
  doc: Hcl,
  kind: "resource" | "data",
  type: string,
): { name: string; body: Hcl }[] {
  const byName = (doc[kind]?.[type] ?? {}) as Record<string, Hcl[]>;
  return Object.entries(byName).flatMap(([name, bodies]) => bodies.map((body) => ({ name, body })));
}

export interface PolicyStatement {
  where: string;
  sid: string | undefined;
  effect: string;
  actions: string[];
  notActions: unknown;
  resources: unknown;
  conditions: { test: string; variable: string; values: unknown }[];
  principals: { type: string; identifiers: unknown }[];
}

/** Every statement of every aws_iam_policy_document data source, including dynamic ones. */
export function policyStatements(doc: Hcl, label: string): PolicyStatement[] {
  return blocksOfType(doc, "data", "aws_iam_policy_document").flatMap(({ name, body }) => {
    const plain = (body.statement ?? []) as Hcl[];
    const dynamic = ((body.dynamic?.statement ?? []) as Hcl[]).flatMap((d) => (d.content ?? []) as Hcl[]);
    return [...plain, ...dynamic].map((s) => ({
      where: `${label}: data.aws_iam_policy_document.${name}${s.sid ? ` (${s.sid})` : ""}`,
      sid: s.sid,
      effect: s.effect ?? "Allow",
      actions: Array.isArray(s.actions) ? s.actions : [String(s.actions)],
      notActions: s.not_actions,
      resources: s.resources,
      conditions: (s.condition ?? []) as PolicyStatement["conditions"],
      principals: (s.principals ?? []) as PolicyStatement["principals"],
    }));
  });
}

/** Runs a command and returns its exit code and output (never throws on a non-zero exit). */
export async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      ...options,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === "number" ? e.code : 1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? String(error),
    };
  }
}
