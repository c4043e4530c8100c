import { isMap, isScalar, isSeq, type Node } from "yaml";
import { formatPath, type PathSegment } from "./diagnostics.ts";
import type { Finding } from "./issues.ts";

/**
 * Finds secrets pasted into config.yaml. Secrets never live in the file (DESIGN.md §8): the Slack webhook
 * comes from SLACK_WEBHOOK_URL (or SLACK_WEBHOOK_SECRET_ARN in AWS), SMTP credentials from SMTP_URL.
 * Messages never repeat the secret itself.
 */

interface SecretKind {
  what: string;
  pattern: RegExp;
  fix: string;
}

const ROTATE = "if it was ever committed or shared, revoke it and issue a new one";
const SLACK_FIX = `delete it and set SLACK_WEBHOOK_URL in the environment (in AWS, SLACK_WEBHOOK_SECRET_ARN naming a Secrets Manager secret); ${ROTATE}`;
const SMTP_FIX = `delete it and put the credentials in SMTP_URL (smtp://user:pass@host:port) in the environment, or use SES in AWS; ${ROTATE}`;

const PROXY_FIX = `keep only the proxy's host and port here (or leave it out) and export HTTPS_PROXY=http://user:pass@host:port in the environment; ${ROTATE}`;

const VALUE_PATTERNS: readonly SecretKind[] = [
  {
    what: "a Slack webhook URL",
    pattern: /hooks\.slack\.com\/(services|workflows|triggers)\//i,
    fix: SLACK_FIX,
  },
  {
    what: "a Slack token",
    pattern: /\bxox[abposr]-[A-Za-z0-9-]{6,}/,
    fix: `delete it: hbsync posts through an incoming webhook set in SLACK_WEBHOOK_URL (or SLACK_WEBHOOK_SECRET_ARN); ${ROTATE}`,
  },
  {
    what: "an AWS access key",
    pattern: /\b(AKIA|ASIA)[A-Z0-9]{16}\b/,
    fix: `delete it: deployments assume the per-environment OIDC role and local runs use the AWS credential chain (AWS_PROFILE); deactivate the key in IAM`,
  },
  {
    what: "a GitHub token",
    pattern: /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})/,
    fix: `delete it and keep tokens in GitHub Actions secrets or the environment; ${ROTATE}`,
  },
  { what: "a private key", pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, fix: `delete it; ${ROTATE}` },
  { what: "a URL with a password", pattern: /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, fix: SMTP_FIX },
];

const SECRET_KEY_NAME =
  /(password|passwd|passphrase|secret|token|webhook|api_?key|private_?key|access_?key|credential)/i;

function keyNameFix(key: string): string {
  if (/webhook/i.test(key)) return SLACK_FIX;
  if (/pass/i.test(key)) return SMTP_FIX;
  return `delete it and pass the value through an environment variable or AWS Secrets Manager; ${ROTATE}`;
}

function classify(text: string): SecretKind | undefined {
  return VALUE_PATTERNS.find((kind) => kind.pattern.test(text));
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const value = node.value;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return undefined;
}

/** Every secret in the YAML tree: one finding per key or list item that holds one. */
export function findSecrets(root: Node | null | undefined): Finding[] {
  const findings: Finding[] = [];
  const visit = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = scalarText(pair.key) ?? "";
        const childPath = [...path, key];
        const valueText = scalarText(pair.value);
        const keyKind = classify(key);
        const valueKind = valueText === undefined ? undefined : classify(valueText);
        const label = `\`${formatPath(childPath)}\``;
        if (keyKind) {
          findings.push({
            path: childPath,
            at: "key",
            message: `a key holds ${keyKind.what}; secrets must not be stored in the config file`,
            fix: keyKind.fix,
          });
        } else if (valueKind) {
          findings.push({
            path: childPath,
            at: "value",
            message: `${label} holds ${valueKind.what}; secrets must not be stored in the config file`,
            fix: key === "proxy" && valueKind.fix === SMTP_FIX ? PROXY_FIX : valueKind.fix,
          });
        } else if (
          SECRET_KEY_NAME.test(key) &&
          valueText !== undefined &&
          valueText.trim() !== "" &&
          !valueText.startsWith("arn:")
        ) {
          findings.push({
            path: childPath,
            at: "key",
            message: `${label} looks like a secret (a ${key} value); secrets must not be stored in the config file`,
            fix: keyNameFix(key),
          });
        } else {
          visit(pair.value, childPath);
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const text = scalarText(item);
        const kind = text === undefined ? undefined : classify(text);
        if (kind) {
          findings.push({
            path: [...path, index],
            at: "value",
            message: `\`${formatPath([...path, index])}\` holds ${kind.what}; secrets must not be stored in the config file`,
            fix: kind.fix,
          });
        } else {
          visit(item, [...path, index]);
        }
      });
    }
  };
  visit(root, []);
  return findings;
}
