import { type ErrorKind, HbsyncError } from "../shared/errors.ts";

/**
 * The pipeline's error catalogue: the user's five categories, one code per failure, each with what it
 * means and how to fix it. docs/troubleshooting.md is rendered from this table (tests/unit/pipeline
 * checks they agree), and every PipelineError carries its entry, so `hbsync` prints the same guidance
 * the docs give.
 */
export type ErrorCategory = "configuration" | "build" | "deployment" | "test" | "infrastructure";

export const CATEGORY_PREFIX: Record<ErrorCategory, string> = {
  configuration: "CFG",
  build: "BLD",
  deployment: "DEP",
  test: "TST",
  infrastructure: "INF",
};

export interface CatalogueEntry {
  code: string;
  category: ErrorCategory;
  /** A short title (annotation titles, the docs' headings). */
  title: string;
  /** What happened, in general terms. */
  meaning: string;
  /** What to do about it. */
  fix: string;
}

function entry(
  code: string,
  category: ErrorCategory,
  title: string,
  meaning: string,
  fix: string,
): CatalogueEntry {
  return { code, category, title, meaning, fix };
}

export const ERROR_CATALOGUE = {
  "HBS-CFG-001": entry(
    "HBS-CFG-001",
    "configuration",
    "Invalid configuration",
    "config.yaml could not be read, or it has errors (each is listed with file:line:col).",
    "Correct the file as each line says, then check it with `hbsync config validate --config <file>`.",
  ),
  "HBS-CFG-002": entry(
    "HBS-CFG-002",
    "configuration",
    "Unknown environment",
    "The environment named on the command line is not defined under `environments:` in config.yaml.",
    "Pass one of the environments config.yaml defines, or add the environment to config.yaml.",
  ),
  "HBS-CFG-003": entry(
    "HBS-CFG-003",
    "configuration",
    "Environment directory missing",
    "The Terraform directory of the environment does not exist or holds no .tf files.",
    "Run from the repository root (the default is infra/terraform/environments/<env>) or pass `--dir DIR`.",
  ),
  "HBS-CFG-004": entry(
    "HBS-CFG-004",
    "configuration",
    "Terraform configuration invalid",
    "`terraform validate` rejected the environment's Terraform code or the variables written from config.yaml.",
    "Fix the file and line terraform names, then run `hbsync env validate <env>` again.",
  ),
  "HBS-CFG-005": entry(
    "HBS-CFG-005",
    "configuration",
    "Backend configuration unusable",
    "The `--backend-config` file does not exist, or the backend settings are incomplete (e.g. no bucket or region).",
    "Pass `--backend-config FILE` (key = value lines) or set TF_STATE_BUCKET and TF_STATE_REGION for an S3 backend.",
  ),
  "HBS-CFG-006": entry(
    "HBS-CFG-006",
    "configuration",
    "Schedule toggle not declared",
    "`hbsync env pause|resume` sets the Terraform variable `schedule_enabled`, which this environment does not declare.",
    'Declare `variable "schedule_enabled" { type = bool, default = true }` in the environment and pass it to the module\'s `schedule_enabled`.',
  ),
  "HBS-BLD-001": entry(
    "HBS-BLD-001",
    "build",
    "Artifact manifest unreadable",
    "dist/manifest.json exists but is not the JSON `npm run build` writes.",
    "Rebuild with `npm run build`, or delete dist/ to deploy without recording artifact checksums.",
  ),
  "HBS-BLD-002": entry(
    "HBS-BLD-002",
    "build",
    "Artifacts missing",
    "The artifacts of the version to deploy are not in the artifact store (artifacts/<version>/).",
    "Upload the build of that version (`npm run build`, then copy dist/ to artifacts/<version>/), or pick another version with `--to`.",
  ),
  "HBS-DEP-001": entry(
    "HBS-DEP-001",
    "deployment",
    "Terraform apply failed",
    "`terraform apply` stopped part-way; some resources may have changed.",
    "Read terraform's error above. hbsync rolls back to the last good version when it can; otherwise fix the cause and deploy again, or run `hbsync rollback <env>`.",
  ),
  "HBS-DEP-002": entry(
    "HBS-DEP-002",
    "deployment",
    "Terraform plan failed",
    "`terraform plan` failed, so nothing was changed.",
    "Read terraform's error above (a variable value, a precondition, a provider error), fix it, and run `hbsync env plan <env>`.",
  ),
  "HBS-DEP-003": entry(
    "HBS-DEP-003",
    "deployment",
    "Refusing to destroy production",
    "Destroying the prod environment deletes the mirror everyone's `brew` uses; it needs an explicit flag.",
    "If you really mean it, run `hbsync env destroy prod --force-prod`.",
  ),
  "HBS-DEP-004": entry(
    "HBS-DEP-004",
    "deployment",
    "Nothing to roll back to",
    "The ledger has no earlier successful deployment of another version whose artifacts still exist.",
    "Deploy a fixed version instead (`hbsync env deploy <env> --version SHA`), or name one with `hbsync rollback <env> --to VERSION`.",
  ),
  "HBS-DEP-005": entry(
    "HBS-DEP-005",
    "deployment",
    "Rollback failed",
    "Redeploying the previous version failed too; the environment may be part-way between versions.",
    "Read terraform's error above, fix the cause, then deploy a known-good version with `hbsync env deploy <env> --version SHA`.",
  ),
  "HBS-DEP-006": entry(
    "HBS-DEP-006",
    "deployment",
    "Deployment blocked by failing tests",
    "Critical tests failed, so the deployment does not go ahead.",
    "Fix the failing tests listed in the report (`hbsync test … --report DIR`), then run the pipeline again.",
  ),
  "HBS-DEP-007": entry(
    "HBS-DEP-007",
    "deployment",
    "Terraform destroy failed",
    "`terraform destroy` stopped part-way; some resources remain.",
    "Read terraform's error above (often a non-empty bucket or a dependency), fix it, and run `hbsync env destroy <env>` again.",
  ),
  "HBS-DEP-008": entry(
    "HBS-DEP-008",
    "deployment",
    "Rollback target not found",
    "The version passed with `--to` was never verified in this environment (deployed and smoke-tested), or its artifacts are gone.",
    "List the deployments (`hbsync env status <env> --json`) and pass a version whose record is `verified`; a version that was applied but never verified needs `--allow-unverified`.",
  ),
  "HBS-DEP-009": entry(
    "HBS-DEP-009",
    "deployment",
    "Environment runs another version",
    "`hbsync rollback --expect-current SHA` found the environment running another version: rolling back now would replace a deployment nobody asked to undo.",
    "Check `hbsync env status <env>`: if the environment is healthy there is nothing to do; otherwise pass the version it runs to `--expect-current`, or roll back explicitly with `--to VERSION`.",
  ),
  "HBS-DEP-010": entry(
    "HBS-DEP-010",
    "deployment",
    "Deploy would go backwards",
    "The commit to deploy is older than the one the environment runs (an ancestor of it): a slower, older pipeline run would overwrite a newer deployment.",
    "Nothing to do if a newer commit is already deployed. To go back on purpose, run `hbsync rollback <env> --to VERSION`. If the history is missing (a shallow clone), fetch it (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout).",
  ),
  "HBS-DEP-011": entry(
    "HBS-DEP-011",
    "deployment",
    "Smoke test failed",
    "The applied version did not pass the smoke test (the worker Lambda's dry run through the real plan path): the ledger records it as failed, and it is never a rollback target.",
    "Read the smoke test's error above (the worker's own error, e.g. a module that fails to load, a missing setting, an unverifiable index); the environment is rolled back to its last verified version when it can be.",
  ),
  "HBS-DEP-012": entry(
    "HBS-DEP-012",
    "deployment",
    "Source revision unavailable",
    "A rollback applies the infra/ and config.yaml of the revision the ledger recorded for the target, and that commit is not in this clone (or git failed).",
    "Fetch the history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout) and run the rollback again from a clone of the repository.",
  ),
  "HBS-DEP-013": entry(
    "HBS-DEP-013",
    "deployment",
    "Saved plan rejected",
    "The saved plan to apply is not the one that was reviewed: its SHA-256 differs from the checksum the plan job recorded, it is unreadable, or it was made for another version or environment.",
    "Do not apply it. Re-run the pipeline from the plan job, so that a new plan is made, reviewed and approved for this commit (`hbsync env plan <env> --out FILE` prints its checksum).",
  ),
  "HBS-TST-001": entry(
    "HBS-TST-001",
    "test",
    "Tests failed",
    "One or more tests failed; the report names each one.",
    "Run the failing file locally with `npx vitest run <file>` and fix the code or the test.",
  ),
  "HBS-TST-002": entry(
    "HBS-TST-002",
    "test",
    "Test run could not start",
    "Vitest could not run the suite (a config error, a file that fails to load, or an unhandled error).",
    "Run `npx vitest run <dir>` to see the full error; check vitest.config.ts and the files it includes.",
  ),
  "HBS-TST-003": entry(
    "HBS-TST-003",
    "test",
    "Unknown test suite",
    "The suite named on the command line is not one of unit, integration, security or all.",
    "Run `hbsync test unit|integration|security|all`.",
  ),
  "HBS-INF-001": entry(
    "HBS-INF-001",
    "infrastructure",
    "Terraform not installed",
    "The `terraform` program was not found on PATH (or is older than hbsync needs).",
    "Install Terraform ≥ 1.6 (https://developer.hashicorp.com/terraform/install; in CI `hashicorp/setup-terraform`) and make sure it is on PATH.",
  ),
  "HBS-INF-002": entry(
    "HBS-INF-002",
    "infrastructure",
    "State backend unreachable",
    "Terraform could not reach or read its state backend (the S3 state bucket).",
    "Check the credentials (the OIDC role in CI), the bucket name and region (`--backend-config` or TF_STATE_BUCKET/TF_STATE_REGION) and network access to S3.",
  ),
  "HBS-INF-003": entry(
    "HBS-INF-003",
    "infrastructure",
    "State locked",
    "Another terraform run holds the state lock of this environment.",
    "Wait for the other run to finish. If it crashed, release the lock with `terraform force-unlock <LOCK_ID>` in the environment directory.",
  ),
  "HBS-INF-004": entry(
    "HBS-INF-004",
    "infrastructure",
    "Terraform timed out",
    "A terraform command ran longer than the timeout and was stopped.",
    "Raise `--timeout SECONDS` if the change is slow, or look for a stuck resource; if the state stayed locked, run `terraform force-unlock <LOCK_ID>`.",
  ),
  "HBS-INF-005": entry(
    "HBS-INF-005",
    "infrastructure",
    "Terraform init failed",
    "`terraform init` failed: a provider or module could not be installed.",
    "Check network access to registry.terraform.io (or your provider mirror in the Terraform CLI config) and the version constraints in versions.tf.",
  ),
  "HBS-INF-006": entry(
    "HBS-INF-006",
    "infrastructure",
    "Terraform command failed",
    "A terraform command failed for a reason hbsync does not recognise.",
    "Read terraform's error above; run the same command in the environment directory to investigate.",
  ),
  "HBS-INF-007": entry(
    "HBS-INF-007",
    "infrastructure",
    "Ledger unavailable",
    "The deployment ledger could not be read or written.",
    "Check `--ledger` (a folder, or s3://bucket/prefix with credentials that may read and write it).",
  ),
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function catalogueEntry(code: ErrorCode): CatalogueEntry {
  return ERROR_CATALOGUE[code];
}

export interface PipelineErrorOptions {
  cause?: unknown;
  /** Overrides the catalogue's fix with a more specific one. */
  fix?: string;
  /** A file (and line) the error is about, for workflow annotations. */
  file?: string;
  line?: number;
  col?: number;
  /** Terraform output lines worth showing with the error (the `Error:` block). */
  details?: readonly string[];
}

/** Configuration errors are exit 2 (usage/configuration, DESIGN.md §8); everything else exit 1. */
function kindOf(code: ErrorCode): ErrorKind {
  const { category } = ERROR_CATALOGUE[code];
  if (category === "configuration" || code === "HBS-DEP-003" || code === "HBS-TST-003") return "usage";
  return "failed";
}

/** An error from the catalogue: `code`, a specific message, and the entry's fix (or a more specific one). */
export class PipelineError extends HbsyncError {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly title: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly col: number | undefined;
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: PipelineErrorOptions = {}) {
    const known = ERROR_CATALOGUE[code];
    super(`${code}: ${message}`, {
      kind: kindOf(code),
      fix: options.fix ?? known.fix,
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = "PipelineError";
    this.code = code;
    this.category = known.category;
    this.title = known.title;
    this.file = options.file;
    this.line = options.line;
    this.col = options.col;
    this.details = options.details ?? [];
  }
}

/** `terraform` is not on PATH (ENOENT) or too old. */
export class TerraformNotFoundError extends PipelineError {
  readonly binary: string;

  constructor(binary: string, detail?: string, cause?: unknown) {
    super(
      "HBS-INF-001",
      detail ?? `terraform is not installed or not on PATH; install ≥ 1.6 (looked for \`${binary}\`)`,
      { cause },
    );
    this.name = "TerraformNotFoundError";
    this.binary = binary;
  }
}

/** A terraform command exceeded its timeout and was killed. */
export class TimeoutError extends PipelineError {
  readonly command: string;
  readonly timeoutMs: number;

  constructor(command: string, timeoutMs: number) {
    super(
      "HBS-INF-004",
      `\`${command}\` did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped`,
    );
    this.name = "TimeoutError";
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}

/** A terraform command exited non-zero; `code` says which kind of failure it was. */
export class TerraformCommandError extends PipelineError {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(
    code: ErrorCode,
    command: string,
    exitCode: number | null,
    stderr: string,
    options: PipelineErrorOptions = {},
  ) {
    const summary = firstErrorLine(stderr);
    super(code, `\`${command}\` failed (exit ${exitCode ?? "signal"})${summary ? `: ${summary}` : ""}`, {
      ...options,
      details: options.details ?? errorBlock(stderr),
    });
    this.name = "TerraformCommandError";
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** A deployment failed; carries what the handler did about it (rollback, notification). */
export class DeploymentError extends PipelineError {
  readonly environment: string;
  readonly version: string;
  /** Set when an automatic rollback was attempted. */
  rollback: { attempted: boolean; succeeded: boolean; toVersion?: string; error?: string } | undefined;

  constructor(
    code: ErrorCode,
    environment: string,
    version: string,
    message: string,
    options: PipelineErrorOptions = {},
  ) {
    super(code, message, options);
    this.name = "DeploymentError";
    this.environment = environment;
    this.version = version;
  }
}

/** Critical tests failed: the deployment is blocked. */
export class TestFailureError extends PipelineError {
  readonly failedTests: readonly string[];

  constructor(
    code: ErrorCode,
    message: string,
    failedTests: readonly string[],
    options: PipelineErrorOptions = {},
  ) {
    super(code, message, options);
    this.name = "TestFailureError";
    this.failedTests = failedTests;
  }
}

/** The first `Error: …` line terraform printed (or the first non-empty line). */
export function firstErrorLine(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.replace(/^[│╷╵\s]+/, "").trim())
    .filter(Boolean);
  const error = lines.find((line) => line.startsWith("Error:"));
  return (error ?? lines[0] ?? "").replace(/^Error:\s*/, "").slice(0, 300);
}

/** Terraform's diagnostic block(s): from each `Error:` line up to 12 lines on, box characters stripped. */
export function errorBlock(stderr: string): string[] {
  const lines = stderr.split(/\r?\n/).map((line) => line.replace(/^[│╷╵]\s?/, "").trimEnd());
  const start = lines.findIndex((line) => line.trimStart().startsWith("Error:"));
  if (start < 0) return lines.filter(Boolean).slice(-12);
  return lines.slice(start, start + 12).filter((line, i, all) => line || (i > 0 && all[i - 1]));
}
