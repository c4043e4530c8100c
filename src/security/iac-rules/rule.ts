import type { RuleMeta } from "../types.ts";

export function iacRule(
  id: string,
  severity: RuleMeta["severity"],
  title: string,
  fix: string,
  references: { checkov?: string[]; trivy?: string[] } = {},
): RuleMeta {
  return { id, scanner: "iac", severity, title, fix, references };
}

/** Environment/variable names that usually hold credentials. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|WEBHOOK)/i;
/** …unless the name says it holds a pointer to the secret rather than the secret. */
const POINTER_SUFFIX = /_(ARN|NAME|ID|PATH|FILE|PARAM|PARAMETER|SSM|REF|URL_ARN|SECRET_ARN)$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !POINTER_SUFFIX.test(name);
}

/** A literal, non-empty value (not a Terraform reference or interpolation). */
export function isLiteralValue(value: unknown): boolean {
  if (typeof value !== "string") return typeof value === "number";
  return value.trim() !== "" && !value.includes("${");
}
