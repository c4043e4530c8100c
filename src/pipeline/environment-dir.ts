/**
 * The Terraform directory of one environment: where it is, what it declares (variables, backend type),
 * the `-backend-config` arguments for it, and writing its terraform.tfvars.json.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { renderTfvarsJson, type TfvarValue } from "../config/tfvars.ts";
import { PipelineError } from "./errors.ts";

export const DEFAULT_ENVIRONMENTS_DIR = "infra/terraform/environments";
export const TFVARS_FILE = "terraform.tfvars.json";

/** `--dir` may contain `{env}`; without it, the default is infra/terraform/environments/<env>. */
export function environmentDir(cwd: string, env: string, dir?: string): string {
  if (dir) return resolve(cwd, dir.replaceAll("{env}", env));
  return resolve(cwd, DEFAULT_ENVIRONMENTS_DIR, env);
}

export interface TerraformSources {
  dir: string;
  /** The text of every *.tf file in the directory (not subdirectories), concatenated. */
  text: string;
}

/** Reads the directory's .tf files; HBS-CFG-003 when it does not exist or has none. */
export async function readTerraformSources(dir: string): Promise<TerraformSources> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) {
    throw new PipelineError("HBS-CFG-003", `environment directory ${dir} does not exist`);
  }
  const files = (await readdir(dir)).filter((name) => name.endsWith(".tf")).sort();
  if (files.length === 0) {
    throw new PipelineError("HBS-CFG-003", `environment directory ${dir} has no .tf files`);
  }
  const texts = await Promise.all(files.map((name) => readFile(join(dir, name), "utf8")));
  return { dir, text: texts.join("\n") };
}

export function declaresVariable(sources: TerraformSources, name: string): boolean {
  return new RegExp(`^\\s*variable\\s+"${name}"\\s*\\{`, "m").test(stripComments(sources.text));
}

/** The backend type of the `terraform { backend "…" {} }` block, or undefined (local state). */
export function backendType(sources: TerraformSources): string | undefined {
  return /^\s*backend\s+"([\w-]+)"/m.exec(stripComments(sources.text))?.[1];
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*(#|\/\/).*$/gm, "");
}

export interface BackendOptions {
  /** `--backend-config` values: a file of `key = value` lines, or a single `key=value`. */
  backendConfig?: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * `-backend-config` arguments: each `--backend-config` (a file must exist), then, for an S3 backend,
 * TF_STATE_BUCKET / TF_STATE_REGION from the environment (what the workflows set; see
 * infra/terraform/README.md). Other backend types get only the explicit ones.
 */
export function backendConfigArgs(sources: TerraformSources, options: BackendOptions): string[] {
  const args: string[] = [];
  for (const value of options.backendConfig ?? []) {
    const looksLikePair = /^[\w.-]+=/.test(value) && !existsSync(resolve(options.cwd, value));
    if (looksLikePair) {
      args.push(`-backend-config=${value}`);
      continue;
    }
    const path = isAbsolute(value) ? value : resolve(options.cwd, value);
    if (!existsSync(path)) {
      throw new PipelineError("HBS-CFG-005", `backend config file ${value} does not exist`);
    }
    args.push(`-backend-config=${path}`);
  }
  if (backendType(sources) === "s3") {
    const bucket = options.env.TF_STATE_BUCKET?.trim();
    const region = options.env.TF_STATE_REGION?.trim();
    const explicit = (key: string): boolean =>
      (options.backendConfig ?? []).some((value) => value.startsWith(`${key}=`));
    if (bucket && !explicit("bucket")) args.push(`-backend-config=bucket=${bucket}`);
    if (region && !explicit("region")) args.push(`-backend-config=region=${region}`);
  }
  return args;
}

/** Writes `<dir>/terraform.tfvars.json`; returns its path. */
export async function writeTfvars(dir: string, values: Record<string, TfvarValue>): Promise<string> {
  const path = join(dir, TFVARS_FILE);
  await writeFile(path, renderTfvarsJson(values), "utf8");
  return path;
}

/** `-var name=value` arguments; non-strings are written as HCL/JSON literals (`true`, `5`, `["a"]`). */
export function varArgs(vars: Record<string, TfvarValue>): string[] {
  return Object.entries(vars).flatMap(([name, value]) => [
    "-var",
    `${name}=${typeof value === "string" ? value : JSON.stringify(value)}`,
  ]);
}

export interface ValidateDiagnostic {
  severity: "error" | "warning";
  summary: string;
  detail?: string;
  range?: { filename: string; start: { line: number; column: number } };
}

/** `terraform validate -json` output; unparseable output counts as invalid. */
export function parseValidate(stdout: string): { valid: boolean; diagnostics: ValidateDiagnostic[] } {
  try {
    const parsed = JSON.parse(stdout) as { valid?: boolean; diagnostics?: ValidateDiagnostic[] };
    return { valid: parsed.valid === true, diagnostics: parsed.diagnostics ?? [] };
  } catch {
    return { valid: false, diagnostics: [] };
  }
}

/** `file:line: summary — detail`. */
export function diagnosticText(d: ValidateDiagnostic): string {
  const where = d.range ? `${d.range.filename}:${d.range.start.line}: ` : "";
  return `${where}${d.summary}${d.detail ? ` — ${d.detail.replace(/\s+/g, " ")}` : ""}`;
}
