import * as z from "zod";
import {
  AWS_REGIONS,
  BOTTLE_TAGS,
  FARGATE_CPUS,
  FARGATE_EPHEMERAL_MAX_GIB,
  FARGATE_EPHEMERAL_MIN_GIB,
  LAMBDA_TIMEOUT_MAX_SECONDS,
} from "./constants.ts";

/**
 * The one schema of config.yaml. Validation (src/config/load.ts), the TypeScript types
 * (src/config/types.ts) and config.schema.json (scripts/gen-schema.ts) all derive from it.
 * Objects are strict so a mistyped key is an error, not silently ignored. Descriptions and examples
 * end up in the JSON Schema (editor hovers) and in the "how to fix" part of diagnostics.
 */

export const DEFAULT_TAGS = ["arm64_sequoia", "arm64_sonoma", "x86_64_linux"];
export const DEFAULT_UPSTREAM_API = "https://formulae.brew.sh/api";
export const DEFAULT_UPSTREAM_REGISTRY = "https://ghcr.io/v2/homebrew/core";
export const DEFAULT_UPSTREAM_BREW_GIT = "https://github.com/Homebrew/brew.git";
/** mirror.layouts: `flat` (HOMEBREW_BOTTLE_DOMAIN) is the record and always written; `oci` adds `v2/`. */
export const MIRROR_LAYOUTS = ["flat", "oci"] as const;

const regionSchema = z
  .enum(AWS_REGIONS as [string, ...string[]])
  .meta({ description: "AWS region to deploy into.", examples: ["us-east-1"] });

// ---- resources: the same fields twice, with defaults (top level) and without (per-environment override).

const lambdaFields = {
  orchestrator_memory: z
    .int()
    .positive()
    .meta({ description: "Orchestrator Lambda memory in MB (Lambda allows 128-10240).", examples: [512] }),
  sync_memory: z
    .int()
    .positive()
    .meta({ description: "Sync worker Lambda memory in MB (Lambda allows 128-10240).", examples: [3008] }),
  timeout: z
    .int()
    .min(1)
    .max(LAMBDA_TIMEOUT_MAX_SECONDS)
    .meta({ description: "Lambda timeout in seconds (1-900).", examples: [900] }),
};

const ecsFields = {
  task_cpu: z.literal(FARGATE_CPUS).meta({
    description: "Fargate task CPU units (1024 = 1 vCPU); the memory must be a combination Fargate accepts.",
    examples: [2048],
  }),
  task_memory: z
    .int()
    .positive()
    .meta({
      description: "Fargate task memory in MiB; must fit task_cpu (see docs/config.md).",
      examples: [8192],
    }),
  ephemeral_storage: z
    .int()
    .min(FARGATE_EPHEMERAL_MIN_GIB)
    .max(FARGATE_EPHEMERAL_MAX_GIB)
    .meta({ description: "Fargate ephemeral storage in GiB (21-200).", examples: [100] }),
};

export const LambdaResourcesSchema = z
  .strictObject({
    orchestrator_memory: lambdaFields.orchestrator_memory.default(512),
    sync_memory: lambdaFields.sync_memory.default(3008),
    timeout: lambdaFields.timeout.default(900),
  })
  .meta({ description: "AWS Lambda sizing." });

export const EcsResourcesSchema = z
  .strictObject({
    task_cpu: ecsFields.task_cpu.default(2048),
    task_memory: ecsFields.task_memory.default(8192),
    ephemeral_storage: ecsFields.ephemeral_storage.default(100),
  })
  .meta({ description: "ECS Fargate task sizing, used when a run moves more than size_threshold_gb." });

export const ResourcesSchema = z
  .strictObject({
    lambda: LambdaResourcesSchema.prefault({}),
    ecs: EcsResourcesSchema.prefault({}),
  })
  .meta({ description: "Compute sizing shared by every environment (each may override it)." });

export const ResourceOverridesSchema = z
  .strictObject({
    lambda: z
      .strictObject({
        orchestrator_memory: lambdaFields.orchestrator_memory.optional(),
        sync_memory: lambdaFields.sync_memory.optional(),
        timeout: lambdaFields.timeout.optional(),
      })
      .optional()
      .meta({ description: "AWS Lambda sizing for this environment (any subset of resources.lambda)." }),
    ecs: z
      .strictObject({
        task_cpu: ecsFields.task_cpu.optional(),
        task_memory: ecsFields.task_memory.optional(),
        ephemeral_storage: ecsFields.ephemeral_storage.optional(),
      })
      .optional()
      .meta({ description: "ECS Fargate sizing for this environment (any subset of resources.ecs)." }),
  })
  .meta({ description: "Overrides of the top-level resources for this environment only." });

// ---- environments

export const EnvironmentSchema = z
  .strictObject({
    aws_region: regionSchema,
    size_threshold_gb: z
      .number()
      .positive()
      .max(10240)
      .default(10)
      .meta({
        description: "Runs moving more than this many GB go to ECS Fargate instead of the worker Lambda.",
        examples: [5],
      }),
    schedule_expression: z.string().meta({
      description:
        "EventBridge schedule: cron(minutes hours day-of-month month day-of-week year) or rate(value unit).",
      examples: ["cron(0 3 ? * SUN *)", "rate(6 hours)"],
    }),
    enable_fargate_spot: z
      .boolean()
      .default(false)
      .meta({
        description: "Run the ECS task on FARGATE_SPOT capacity (cheaper, may be interrupted).",
        examples: [true],
      }),
    budget_usd: z
      .number()
      .min(0)
      .max(1_000_000)
      .default(0)
      .meta({
        description: "Monthly budget in USD for cost alarms and `hbsync cost`; 0 = no budget.",
        examples: [50],
      }),
    resources: ResourceOverridesSchema.optional(),
  })
  .meta({ description: "One deployment environment." });

export const ENVIRONMENT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,15}$/;

// ---- notifications

export const NotificationsSchema = z
  .strictObject({
    slack: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .meta({ description: "Send Slack notifications.", examples: [true] }),
        channel: z
          .string()
          .regex(/^(#?[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{8,})$/)
          .optional()
          .meta({
            description:
              "Slack channel named in messages. The webhook URL is a secret: set SLACK_WEBHOOK_URL (or SLACK_WEBHOOK_SECRET_ARN), never here.",
            examples: ["#platform-updates"],
          }),
      })
      .prefault({})
      .meta({ description: "Slack incoming-webhook notifications." }),
    email: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .meta({ description: "Send email notifications.", examples: [true] }),
        addresses: z
          .array(z.email())
          .default([])
          .meta({
            description:
              "Recipients. SMTP credentials come from SMTP_URL (or SES in AWS), never from this file.",
            examples: [["devops@example.com"]],
          }),
      })
      .prefault({})
      .meta({ description: "Email notifications (SMTP or Amazon SES)." }),
  })
  .meta({ description: "Where run and deployment results are sent." });

// ---- mirror

const formulaName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9@+._-]*$/)
  .meta({ description: "A homebrew/core formula name.", examples: ["openssl@3"] });

const upstreamUrl = z.url({ protocol: /^https?$/ });

export const MirrorSchema = z
  .strictObject({
    tags: z
      .array(z.enum(BOTTLE_TAGS as [string, ...string[]]))
      .min(1)
      .default(DEFAULT_TAGS)
      .meta({
        description: "Bottle tags to mirror; `all` bottles always come along.",
        examples: [["arm64_sequoia", "x86_64_linux"]],
      }),
    formulae: z
      .strictObject({
        include: z
          .array(formulaName)
          .default([])
          .meta({
            description: "Formulae to mirror; empty = every formula.",
            examples: [["git", "openssl@3"]],
          }),
        exclude: z
          .array(formulaName)
          .default([])
          .meta({ description: "Formulae never to mirror.", examples: [["llvm"]] }),
      })
      .prefault({})
      .meta({ description: "Which formulae to mirror." }),
    upstream: z
      .strictObject({
        api: upstreamUrl
          .default(DEFAULT_UPSTREAM_API)
          .meta({ description: "Upstream Homebrew JSON API base URL.", examples: [DEFAULT_UPSTREAM_API] }),
        registry: upstreamUrl.default(DEFAULT_UPSTREAM_REGISTRY).meta({
          description: "Upstream OCI registry base URL for bottles.",
          examples: [DEFAULT_UPSTREAM_REGISTRY],
        }),
        brew_git: z
          .url({ protocol: /^(https?|ssh|file)$/ })
          .default(DEFAULT_UPSTREAM_BREW_GIT)
          .meta({
            description:
              "Git repository of brew itself, mirrored when mirror.brew_git is true (https://, ssh:// or file://).",
            examples: [DEFAULT_UPSTREAM_BREW_GIT],
          }),
        trusted_key: z
          .string()
          .min(1)
          .default("builtin")
          .meta({
            description:
              "Key that must sign the API index: `builtin` (Homebrew's homebrew-1.pem) or a path to a PEM.",
            examples: ["builtin"],
          }),

        proxy: upstreamUrl.optional().meta({
          description:
            "HTTP proxy for every upstream request (CONNECT for https). Unset: HTTPS_PROXY / HTTP_PROXY, minus NO_PROXY. No credentials here: put a proxy that needs them in HTTPS_PROXY.",
          examples: ["http://proxy.internal:3128"],
        }),
      })
      .prefault({})
      .meta({ description: "Where bottles and the signed API come from." }),
    brew_git: z
      .boolean()
      .default(false)
      .meta({
        description:
          "Also mirror brew's own git repository for git's dumb HTTP protocol at <base>/git/brew.git (HOMEBREW_BREW_GIT_REMOTE), so `brew update` works offline, and the Portable Ruby its vendor files name. Runs the git binary (docs/brew-git.md).",
        examples: [true],
      }),
    layouts: z
      .array(z.enum(MIRROR_LAYOUTS))
      .min(1)
      .default(["flat"])
      .meta({
        description:
          "Trees to write: `flat` (bottles/<name>-<version>.<tag>.bottle.tar.gz, for HOMEBREW_BOTTLE_DOMAIN; always written) and `oci` (v2/homebrew/core/<image>/blobs/sha256:<sha> and …/manifests/<version>, for HOMEBREW_ARTIFACT_DOMAIN=<base>). On a folder the OCI names are hard links (bytes stored once); on S3 server-side copies (docs/homebrew-contract.md).",
        examples: [["flat", "oci"]],
      }),
    retention_days: z
      .int()
      .min(0)
      .max(3650)
      .default(7)
      .meta({ description: "Days to keep superseded bottles before pruning.", examples: [7] }),
    concurrency: z
      .strictObject({
        checkers: z
          .int()
          .min(1)
          .max(64)
          .default(8)
          .meta({ description: "Concurrent manifest/metadata requests (1-64).", examples: [8] }),
        transfers: z
          .int()
          .min(1)
          .max(64)
          .default(4)
          .meta({ description: "Concurrent bottle transfers (1-64).", examples: [4] }),
      })
      .prefault({})
      .meta({ description: "Bounded concurrency knobs." }),
    shards: z
      .strictObject({
        max_tasks: z
          .int()
          .min(1)
          .max(16)
          .default(1)
          .meta({
            description:
              "Most ECS tasks one run is split over (1-16; 1: never split). The split is by formula name hash; the last task to finish merges and publishes the API once.",
            examples: [4],
          }),
        gb_per_task: z
          .number()
          .positive()
          .max(10_240)
          .default(50)
          .meta({
            description:
              "Planned GiB per task: a run that moves B GiB on ECS gets ceil(B / gb_per_task) tasks, at most max_tasks.",
            examples: [50],
          }),
      })
      .prefault({})
      .meta({
        description:
          "Split a large ECS run (the initial full mirror) over several tasks (docs/sharded-runs.md).",
      }),
  })
  .meta({ description: "What to mirror and from where." });

// ---- the whole file

export const ProjectSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/)
      .meta({
        description: "Project name; prefixes every AWS resource name (lowercase letters, digits, hyphens).",
        examples: ["homebrew-bottles-sync"],
      }),
    description: z
      .string()
      .max(256)
      .optional()
      .meta({ description: "Free text.", examples: ["Automated Homebrew bottles sync system"] }),
  })
  .meta({ description: "Project identity." });

export const ConfigSchema = z
  .strictObject({
    project: ProjectSchema,
    environments: z
      .record(z.string().regex(ENVIRONMENT_NAME_PATTERN), EnvironmentSchema)
      .meta({ description: "Deployment environments by name (e.g. dev, staging, prod)." }),
    resources: ResourcesSchema.prefault({}),
    notifications: NotificationsSchema.prefault({}),
    mirror: MirrorSchema.prefault({}),
  })
  .meta({
    title: "homebrew-bottles-sync config.yaml",
    description: "The one file a user edits; everything else (tfvars, runtime settings) is derived from it.",
  });
