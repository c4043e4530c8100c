import { blockFinding, blocksOf, type TfModule } from "../iac-model.ts";
import type { Finding, RuleMeta } from "../types.ts";
import { iacRule } from "./rule.ts";

export const LOG_RETENTION = iacRule(
  "HBS-IAC-040",
  "medium",
  "CloudWatch log group without a retention period (logs kept, and billed, forever)",
  "Set retention_in_days (e.g. 30 for dev, 365 for prod; CKV_AWS_338 asks for ≥ 365).",
  { checkov: ["CKV_AWS_66", "CKV_AWS_338"] },
);

export const LOG_RULES: RuleMeta[] = [LOG_RETENTION];

export function checkLogs(module: TfModule): Finding[] {
  return blocksOf(module, "aws_cloudwatch_log_group")
    .filter((g) => {
      const days = g.body.retention_in_days;
      return days === undefined || days === 0 || days === "0";
    })
    .map((g) =>
      blockFinding(LOG_RETENTION, g, "retention_in_days is not set", {
        key: g.body.retention_in_days === undefined ? undefined : "retention_in_days",
      }),
    );
}
