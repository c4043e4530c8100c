/**
 * Masks secrets in any text notify logs or reports: Slack webhook URLs (host kept, path masked),
 * Slack xox tokens, passwords in URLs (smtp://user:***@host), AWS access keys, GitHub tokens and
 * bearer tokens — plus any literal secret the caller knows about (the configured webhook URL, the
 * SMTP password). Every log line and every error message produced by src/notify goes through here.
 */

const MASK = "***";

interface Rule {
  pattern: RegExp;
  replace: string | ((match: string, ...groups: string[]) => string);
}

const RULES: readonly Rule[] = [
  // Slack incoming webhooks / workflow triggers on Slack's own hosts: keep the host, mask the path.
  {
    pattern: /(https?:\/\/hooks\.slack(?:-gov)?\.com)\/[^\s"'<>`)]+/gi,
    replace: `$1/${MASK}`,
  },
  // The same path shape on any host (proxies, test receivers): /services/T…/B…/secret.
  {
    pattern: /\/services\/T[A-Z0-9]{4,}\/B[A-Z0-9]{4,}\/[A-Za-z0-9]+/g,
    replace: `/services/${MASK}`,
  },
  // user:password@ in any URL (smtp://, smtps://, https://…).
  {
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]*):([^\s@/"'<>]+)@/gi,
    replace: `$1:${MASK}@`,
  },
  // Slack tokens.
  { pattern: /\b(xox[abposer]|xapp)-[A-Za-z0-9-]{8,}/g, replace: `$1-${MASK}` },
  // AWS access key ids and secret access keys written as key=value.
  { pattern: /\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g, replace: `$1${MASK}` },
  {
    pattern:
      /\b(aws_secret_access_key|secretAccessKey|SecretAccessKey)(["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}/gi,
    replace: `$1$2${MASK}`,
  },
  // GitHub tokens: classic prefixes and fine-grained PATs.
  { pattern: /\b(gh[pousr])_[A-Za-z0-9]{30,}\b/g, replace: `$1_${MASK}` },
  { pattern: /\bgithub_pat_[A-Za-z0-9_]{20,}/g, replace: `github_pat_${MASK}` },
  // Authorization: Bearer <token> (long ones only; the anonymous GHCR "Bearer QQ==" is not a secret).
  { pattern: /\b(Bearer\s+)[A-Za-z0-9._~+/-]{16,}=*/g, replace: `$1${MASK}` },
];

/** Secrets shorter than this are not masked literally (masking "a" would mangle every line). */
const MIN_LITERAL_LENGTH = 6;

export type Redactor = (text: string) => string;

/** Masks known secret shapes in `text`, and every occurrence of each literal in `secrets`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const literal of literalVariants(secrets)) {
    result = result.split(literal).join(literal.startsWith("/") ? `/${MASK}` : MASK);
  }
  for (const rule of RULES) {
    result = result.replace(rule.pattern, rule.replace as string);
  }
  return result;
}

/** A redactor bound to the secrets a component knows (its webhook URL, its SMTP password). */
export function createRedactor(secrets: readonly (string | undefined)[] = []): Redactor {
  const known = secrets.filter((secret): secret is string => typeof secret === "string");
  return (text) => redact(text, known);
}

/**
 * The literals to mask for a secret URL: the path of an http(s) URL (so the URL prints as
 * `https://host/***`) and the password of `user:password@`. A string that is not a URL is masked whole.
 */
export function secretsOfUrl(url: string | undefined): string[] {
  if (!url) return [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [url];
  }
  const found: string[] = [];
  if (parsed.password) found.push(parsed.password, safeDecode(parsed.password));
  if (parsed.protocol.startsWith("http") && parsed.pathname.length > 1) {
    found.push(`${parsed.pathname}${parsed.search}`);
  }
  return found;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function literalVariants(secrets: readonly string[]): string[] {
  const variants = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_LITERAL_LENGTH) continue;
    variants.add(secret);
    variants.add(encodeURIComponent(secret));
  }
  // Longest first, so a URL is masked before the path inside it.
  return [...variants].sort((a, b) => b.length - a.length);
}
