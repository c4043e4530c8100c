import type { TfModule } from "../iac-model.ts";
import type { Finding, RuleMeta } from "../types.ts";
import { checkEcs, ECS_RULES } from "./ecs.ts";
import { checkIam, IAM_RULES } from "./iam.ts";
import { checkEscalation, ESCALATION_RULES } from "./iam-escalation.ts";
import { checkLambda, LAMBDA_RULES } from "./lambda.ts";
import { checkLogs, LOG_RULES } from "./logs.ts";
import { checkS3, S3_RULES } from "./s3.ts";

/** Every IaC rule, in id order. */
export const IAC_RULES: RuleMeta[] = [
  ...S3_RULES,
  ...LAMBDA_RULES,
  ...ECS_RULES,
  ...IAM_RULES,
  ...ESCALATION_RULES,
  ...LOG_RULES,
].sort((a, b) => a.id.localeCompare(b.id));

export const IAC_CHECKS: Array<(module: TfModule) => Finding[]> = [
  checkS3,
  checkLambda,
  checkEcs,
  checkIam,
  checkEscalation,
  checkLogs,
];
