import type { lintSource } from "@secretlint/core";
import { positionOf } from "./files.ts";
import {
  BARE_ASSIGNMENT,
  HIGH_ENTROPY_ASSIGNMENT,
  isConfigFile,
  isPlaceholder,
  looksLikeSecretValue,
  QUOTED_ASSIGNMENT,
  SECRET_PATTERNS,
  secretlintRule,
} from "./secret-patterns.ts";
import { makeFinding } from "./suppress.ts";
import type { Finding, RuleMeta } from "./types.ts";

export { SECRET_PATTERNS } from "./secret-patterns.ts";

/** Every rule the secrets scanner can report, except secretlint's (added as they are met). */
export const SECRET_RULES: RuleMeta[] = [...SECRET_PATTERNS.map((p) => p.rule), HIGH_ENTROPY_ASSIGNMENT];

interface RawHit {
  finding: Finding;
  start: number;
  end: number;
  /** 0 = hbsync's specific rules, 1 = generic entropy rule, 2 = secretlint: lower wins on overlap. */
  priority: number;
}

export interface SecretScanOutput {
  findings: Finding[];
  /** Rules met for the first time (secretlint's), to list in SARIF. */
  extraRules: RuleMeta[];
}

/**
 * Scans one text for secrets: hbsync's own patterns, the generic high-entropy assignment rule, and
 * secretlint's recommended preset. Overlapping hits of one secret are reported once (the most specific rule).
 */
export async function scanSecretsInText(file: string, text: string): Promise<SecretScanOutput> {
  const hits: RawHit[] = [];
  const at = (offset: number) => positionOf(text, offset);

  for (const pattern of SECRET_PATTERNS) {
    for (const match of text.matchAll(pattern.regex)) {
      const value = match[1] ?? match[0];
      if (isPlaceholder(value)) continue;
      if (pattern.accept && !pattern.accept(value)) continue;
      const start = (match.index ?? 0) + match[0].indexOf(value);
      const { line, col } = at(start);
      hits.push({
        priority: 0,
        start,
        end: start + value.length,
        finding: makeFinding(pattern.rule, {
          file,
          line,
          col,
          match: value,
          message: `${pattern.describe} found: ${mask(value)}`,
        }),
      });
    }
  }

  const assignments = [...text.matchAll(QUOTED_ASSIGNMENT)].map((m) => ({ m, name: m[1], value: m[3] }));
  if (isConfigFile(file)) {
    assignments.push(...[...text.matchAll(BARE_ASSIGNMENT)].map((m) => ({ m, name: m[1], value: m[2] })));
  }
  for (const { m, name, value } of assignments) {
    if (!name || !value || !looksLikeSecretValue(value)) continue;
    const start = (m.index ?? 0) + m[0].lastIndexOf(value);
    const { line, col } = at(start);
    hits.push({
      priority: 1,
      start,
      end: start + value.length,
      finding: makeFinding(HIGH_ENTROPY_ASSIGNMENT, {
        file,
        line,
        col,
        match: value,
        message: `high-entropy value assigned to "${name}": ${mask(value)}`,
      }),
    });
  }

  const extraRules = new Map<string, RuleMeta>();
  for (const message of await secretlintMessages(file, text)) {
    const [start, end] = message.range;
    const value = text.slice(start, end);
    if (isPlaceholder(value)) continue;
    const rule = secretlintRule(message.ruleId, message.messageId);
    extraRules.set(rule.id, rule);
    hits.push({
      priority: 2,
      start,
      end,
      finding: makeFinding(rule, {
        file,
        line: message.loc.start.line,
        col: message.loc.start.column + 1,
        match: value,
        message: `secretlint: ${message.message}`,
      }),
    });
  }

  return { findings: dedupeOverlaps(hits), extraRules: [...extraRules.values()] };
}

function dedupeOverlaps(hits: RawHit[]): Finding[] {
  const sorted = [...hits].sort((a, b) => a.priority - b.priority || a.start - b.start);
  const kept: RawHit[] = [];
  for (const hit of sorted) {
    const overlaps = kept.some((k) => hit.start < k.end && k.start < hit.end);
    if (!overlaps) kept.push(hit);
  }
  return kept.sort((a, b) => a.start - b.start).map((h) => h.finding);
}

type SecretlintMessage = Awaited<ReturnType<typeof lintSource>>["messages"][number];

/** secretlint and its preset, loaded on the first scan (not by every command that imports this module). */
let secretlint: Promise<
  [typeof import("@secretlint/core"), typeof import("@secretlint/secretlint-rule-preset-recommend")]
>;

async function secretlintMessages(file: string, content: string): Promise<SecretlintMessage[]> {
  secretlint ??= Promise.all([
    import("@secretlint/core"),
    import("@secretlint/secretlint-rule-preset-recommend"),
  ]);
  const [{ lintSource }, { creator: recommendedPreset }] = await secretlint;
  const result = await lintSource({
    source: { content, filePath: file, contentType: "text" },
    options: {
      // Masked: messages end up in logs and SARIF uploads.
      maskSecrets: true,
      config: { rules: [{ id: "@secretlint/secretlint-rule-preset-recommend", rule: recommendedPreset }] },
      noPhysicFilePath: false,
    },
  });
  return result.messages.filter((m): m is SecretlintMessage => m.type === "message");
}

/** Enough of a secret to recognise it, never enough to use it. */
export function mask(value: string): string {
  const firstLine = value.split(/\r?\n|\\n/)[0] ?? value;
  if (firstLine.startsWith("-----BEGIN")) return firstLine;
  if (firstLine.length <= 8) return "****";
  return `${firstLine.slice(0, 4)}…${"*".repeat(4)} (${firstLine.length} chars)`;
}
