import type { RuleMeta } from "./types.ts";

/**
 * The secret rules hbsync adds on top of secretlint's recommended preset (which leaves AWS access key ids
 * off by default, and has no generic high-entropy rule). Each pattern's first capture group (or the whole
 * match) is the secret value that is checked against the placeholder allowlist and fingerprinted.
 */
export interface SecretPattern {
  rule: RuleMeta;
  regex: RegExp;
  /** Extra filter on the captured value (EXAMPLE keys, entropy floor…). */
  accept?: (value: string) => boolean;
  describe: string;
}

function secretRule(
  id: string,
  severity: RuleMeta["severity"],
  title: string,
  fix: string,
  checkov?: string[],
): RuleMeta {
  return { id, scanner: "secrets", severity, title, fix, references: checkov ? { checkov } : {} };
}

const ROTATE =
  "Revoke and rotate the credential now (it is in the history), then read it from the environment or AWS Secrets Manager";

export const AWS_ACCESS_KEY_ID = secretRule(
  "HBS-SEC-001",
  "critical",
  "AWS access key id (AKIA…/ASIA…)",
  `${ROTATE}; on AWS use IAM roles (OIDC from GitHub Actions), never stored keys.`,
  ["CKV_SECRET_2"],
);
export const AWS_SECRET_ACCESS_KEY = secretRule(
  "HBS-SEC-002",
  "critical",
  "AWS secret access key assigned in code or configuration",
  `${ROTATE}; on AWS use IAM roles (OIDC from GitHub Actions), never stored keys.`,
  ["CKV_SECRET_2"],
);
export const SLACK_WEBHOOK = secretRule(
  "HBS-SEC-003",
  "high",
  "Slack incoming webhook URL",
  `${ROTATE}: regenerate the webhook in Slack and pass it as SLACK_WEBHOOK_URL (or SLACK_WEBHOOK_SECRET_ARN on AWS).`,
);
export const SLACK_TOKEN = secretRule(
  "HBS-SEC-004",
  "high",
  "Slack token (xoxb-, xoxp-, xoxa-, xoxo-, xoxs-, xoxr-)",
  `${ROTATE}: revoke the token in Slack's app settings.`,
  ["CKV_SECRET_14"],
);
export const GITHUB_TOKEN = secretRule(
  "HBS-SEC-005",
  "critical",
  "GitHub token (ghp_, gho_, ghs_, ghu_, ghr_, github_pat_)",
  `${ROTATE}: revoke it under GitHub settings → Developer settings; in workflows use secrets.GITHUB_TOKEN.`,
);
export const PRIVATE_KEY = secretRule(
  "HBS-SEC-006",
  "critical",
  "Private key block (-----BEGIN … PRIVATE KEY-----)",
  "Remove the key, treat it as compromised and replace it; keep keys in a secret store, never in the repository.",
  ["CKV_SECRET_13"],
);
export const HIGH_ENTROPY_ASSIGNMENT = secretRule(
  "HBS-SEC-007",
  "high",
  "High-entropy value assigned to a secret-looking name (password, secret, token, api_key…)",
  `${ROTATE}. If the value is not a secret, use an obvious placeholder or add an allow comment with a justification.`,
  ["CKV_SECRET_6", "CKV_SECRET_10"],
);

/** The rule id given to secretlint's own findings, e.g. `secretlint/database-connection-string`. */
export function secretlintRule(secretlintRuleId: string, title: string): RuleMeta {
  const short = secretlintRuleId.replace(/^@secretlint\/secretlint-rule-/, "");
  return secretRule(
    `secretlint/${short}`,
    "high",
    title,
    `${ROTATE}. See https://github.com/secretlint/secretlint/tree/master/packages/%40secretlint/secretlint-rule-${short}`,
  );
}

/** Minimum Shannon entropy (bits per character) and length for the generic rule. */
export const ENTROPY_FLOOR = 3.5;
export const MIN_SECRET_LENGTH = 16;

export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/**
 * Values that are obviously not real secrets: CI/shell/template references (`${{ secrets.X }}`, `${VAR}`,
 * `$VAR`, `{{ x }}`, `<your-token>`), and the usual placeholder words.
 */
export function isPlaceholder(value: string): boolean {
  if (/\$\{\{[^}]*\}\}/.test(value)) return true;
  if (/\$\{[^}]*\}/.test(value)) return true;
  if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(value)) return true;
  if (/\{\{[^}]*\}\}/.test(value)) return true;
  if (/<[^<>]+>/.test(value)) return true;
  if (/(.)\1{5,}/.test(value) || hasAscendingRun(value, 6)) return true;
  return /x{3,}|changeme|change_me|example|placeholder|dummy|redacted|\*{3,}|your[-_]?(?:token|key|secret|password)/i.test(
    value,
  );
}

/**
 * True when `value` has `length` consecutive ascending characters (`abcdef`, `123456`): hand-typed fakes
 * such as ghp_abcdefghijklmnopqrstuvwxyz0123456789. A random 40-character token has one with probability ~1e-8.
 */
export function hasAscendingRun(value: string, length: number): boolean {
  let run = 1;
  for (let i = 1; i < value.length; i++) {
    run = value.charCodeAt(i) === value.charCodeAt(i - 1) + 1 ? run + 1 : 1;
    if (run >= length) return true;
  }
  return false;
}

export const SECRET_PATTERNS: SecretPattern[] = [
  {
    rule: AWS_ACCESS_KEY_ID,
    regex: /\b((?:AKIA|ASIA)[A-Z2-7]{16})\b/g,
    describe: "AWS access key id",
  },
  {
    rule: AWS_SECRET_ACCESS_KEY,
    regex: /aws_?secret_?(?:access_?)?key["']?\s*(?:[:=]|=>)\s*["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
    describe: "AWS secret access key",
  },
  {
    rule: SLACK_WEBHOOK,
    regex: /(https:\/\/hooks\.slack\.com\/services\/T[A-Za-z0-9_]+\/B[A-Za-z0-9_]+\/[A-Za-z0-9_]+)/g,
    describe: "Slack incoming webhook URL",
  },
  {
    rule: SLACK_TOKEN,
    regex: /\b(xox[abposr]-[A-Za-z0-9-]{10,})/g,
    describe: "Slack token",
  },
  {
    rule: GITHUB_TOKEN,
    regex: /\b((?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g,
    describe: "GitHub token",
  },
  {
    rule: PRIVATE_KEY,
    // The header must be followed by key material (a real block, or one escaped into a JSON string).
    regex:
      /(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)(?:\r?\n|\\n)(?:[A-Za-z-]+: [^\n]*\r?\n)*[A-Za-z0-9+/=]{20,}/g,
    describe: "private key block",
  },
];

const SENSITIVE_WORDS =
  "[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth[_-]?key|credential)[A-Za-z0-9_-]*";

/** `name = "value"`, `name: 'value'`, `"name": "value"`, `name => "value"` (any file). */
export const QUOTED_ASSIGNMENT = new RegExp(
  `(?<![A-Za-z0-9_])["']?(${SENSITIVE_WORDS})["']?[ \\t]*(?::=|=>|[:=])[ \\t]*(["'\`])([^"'\`\\s]+)\\2`,
  "gi",
);
/** `NAME=value` / `name: value` without quotes: only in configuration files (.env, YAML, INI, TOML…). */
export const BARE_ASSIGNMENT = new RegExp(
  `(?<![A-Za-z0-9_])(${SENSITIVE_WORDS})[ \\t]*[:=][ \\t]*([^\\s"'\`#,;]+)[ \\t]*(?:#.*)?$`,
  "gim",
);

/** Extensions (or names) where unquoted `key: value` assignments are data, not code. */
export function isConfigFile(file: string): boolean {
  const name = file.split("/").pop() ?? file;
  return /^\.env(\..*)?$/.test(name) || /\.(ya?ml|ini|toml|cfg|conf|properties|env|tfvars)$/i.test(name);
}

/** A value the generic rule flags: long enough, random enough, not a placeholder, not a reference. */
export function looksLikeSecretValue(value: string): boolean {
  if (value.length < MIN_SECRET_LENGTH) return false;
  if (isPlaceholder(value)) return false;
  // References and expressions rather than literals: process.env.X, var.x, secrets.X, module paths.
  if (/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(value)) return false;
  // ARNs name a secret, they are not one.
  if (value.startsWith("arn:")) return false;
  // Paths and URLs without credentials are not secrets.
  if (/^(?:\.{0,2}\/|[a-z]+:\/\/[^@]*$)/.test(value)) return false;
  // Generated secrets mix character classes; words-and-dashes identifiers (cask tokens, slugs) do not.
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((c) => c.test(value)).length;
  if (classes < 2 || /^[a-z]+(?:[-_.][a-z]+)*$/i.test(value)) return false;
  return shannonEntropy(value) >= ENTROPY_FLOOR;
}
