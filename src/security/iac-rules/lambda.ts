import { blockFinding, blocksOf, firstBlock, refersTo, type TfModule } from "../iac-model.ts";
import type { Finding, RuleMeta } from "../types.ts";
import { iacRule, isLiteralValue, isSecretName } from "./rule.ts";

export const LAMBDA_DLQ = iacRule(
  "HBS-IAC-010",
  "medium",
  "Lambda function without a dead-letter queue (or on-failure destination) for failed async invocations",
  "Add dead_letter_config { target_arn = <SQS queue or SNS topic ARN> } (or an aws_lambda_function_event_invoke_config with destination_config.on_failure).",
  { checkov: ["CKV_AWS_116"] },
);
export const LAMBDA_TRACING = iacRule(
  "HBS-IAC-011",
  "low",
  "Lambda function without active X-Ray tracing",
  'Add tracing_config { mode = "Active" } (and allow xray:PutTraceSegments/PutTelemetryRecords to the role).',
  { checkov: ["CKV_AWS_50"], trivy: ["AVD-AWS-0066"] },
);
export const LAMBDA_CONCURRENCY = iacRule(
  "HBS-IAC-012",
  "low",
  "Lambda function without reserved concurrency",
  "Set reserved_concurrent_executions to the most concurrent runs the function needs (not -1).",
  { checkov: ["CKV_AWS_115"] },
);
export const LAMBDA_ENV_SECRETS = iacRule(
  "HBS-IAC-013",
  "critical",
  "Lambda environment variable with a secret-looking name holds a literal value",
  "Store the secret in AWS Secrets Manager and pass its ARN (e.g. SLACK_WEBHOOK_SECRET_ARN); read it at runtime.",
  { checkov: ["CKV_AWS_45"] },
);

export const LAMBDA_RULES: RuleMeta[] = [LAMBDA_DLQ, LAMBDA_TRACING, LAMBDA_CONCURRENCY, LAMBDA_ENV_SECRETS];

export function checkLambda(module: TfModule): Finding[] {
  const findings: Finding[] = [];
  const invokeConfigs = blocksOf(module, "aws_lambda_function_event_invoke_config");
  for (const fn of blocksOf(module, "aws_lambda_function")) {
    const dlq = firstBlock(fn.body.dead_letter_config)?.target_arn;
    const onFailure = invokeConfigs.some(
      (c) =>
        refersTo(c.body.function_name, fn.address) &&
        firstBlock(firstBlock(c.body.destination_config)?.on_failure)?.destination !== undefined,
    );
    if (dlq === undefined && !onFailure) {
      findings.push(blockFinding(LAMBDA_DLQ, fn, "failed asynchronous invocations are dropped (no DLQ)"));
    }
    const mode = firstBlock(fn.body.tracing_config)?.mode;
    if (mode !== "Active") {
      findings.push(
        blockFinding(
          LAMBDA_TRACING,
          fn,
          `X-Ray tracing is ${mode ? `"${String(mode)}"` : "not configured"}`,
          {
            key: mode ? "mode" : undefined,
          },
        ),
      );
    }
    const reserved = fn.body.reserved_concurrent_executions;
    if (reserved === undefined || reserved === -1 || reserved === "-1") {
      findings.push(
        blockFinding(LAMBDA_CONCURRENCY, fn, "reserved_concurrent_executions is not set", {
          key: reserved === undefined ? undefined : "reserved_concurrent_executions",
        }),
      );
    }
    const variables = firstBlock(firstBlock(fn.body.environment)?.variables) ?? {};
    for (const [name, value] of Object.entries(variables)) {
      if (isSecretName(name) && isLiteralValue(value)) {
        findings.push(
          blockFinding(LAMBDA_ENV_SECRETS, fn, `environment variable ${name} holds a literal secret`, {
            key: name,
            match: name,
          }),
        );
      }
    }
  }
  return findings;
}
