import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Finding, RuleMeta, SuppressedFinding } from "./types.ts";

/** The fingerprint ignore file, at the scan root: lines `<fingerprint> # justification`. */
export const IGNORE_FILE = ".hbsync-scan-ignore";

/**
 * Stable hash of ruleId + file + the normalised match. Whitespace is collapsed so re-indenting a file
 * keeps its fingerprints; the line number is deliberately left out so edits above a finding do not
 * re-open it.
 */
export function fingerprintOf(ruleId: string, file: string, match: string): string {
  const normalised = match.replace(/\s+/g, " ").trim();
  return createHash("sha256").update(`${ruleId}\0${file}\0${normalised}`).digest("hex").slice(0, 32);
}

export interface FindingInput {
  file: string;
  line: number;
  col: number;
  /** What identifies this occurrence (the secret, the resource address, the job/step path…). */
  match: string;
  message: string;
}

export function makeFinding(rule: RuleMeta, input: FindingInput): Finding {
  return {
    ruleId: rule.id,
    severity: rule.severity,
    message: input.message,
    fix: rule.fix,
    file: input.file,
    line: input.line,
    col: input.col,
    fingerprint: fingerprintOf(rule.id, input.file, input.match),
    references: rule.references,
  };
}

// `hbsync-scan: allow HBS-SEC-001 <justification>` in any comment syntax (#, //, <!-- -->, /* */).
const ALLOW_COMMENT = /hbsync-scan:\s*allow\s+(\S+)(?:[ \t]+([^\n]*?))?\s*(?:-->|\*\/)?\s*$/;

export interface InlineAllow {
  ruleId: string;
  justification: string;
}

/** The allow comment on one line, if any. A missing justification comes back as "". */
export function parseAllowComment(line: string): InlineAllow | null {
  const match = ALLOW_COMMENT.exec(line);
  if (!match?.[1]) return null;
  return { ruleId: match[1], justification: (match[2] ?? "").trim() };
}

export interface IgnoreEntry {
  fingerprint: string;
  justification: string;
  line: number;
}

export interface IgnoreFile {
  entries: Map<string, IgnoreEntry>;
  warnings: string[];
}

/** Reads `.hbsync-scan-ignore`; entries without a justification are reported and not honoured. */
export async function loadIgnoreFile(root: string): Promise<IgnoreFile> {
  const entries = new Map<string, IgnoreEntry>();
  const warnings: string[] = [];
  let text: string;
  try {
    text = await readFile(join(root, IGNORE_FILE), "utf8");
  } catch {
    return { entries, warnings };
  }
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^([0-9a-f]{32})\s*(?:#\s*(.*))?$/.exec(line);
    if (!match?.[1]) {
      warnings.push(`${IGNORE_FILE}:${index + 1}: not "<32-hex fingerprint> # justification"; ignored`);
      return;
    }
    const justification = (match[2] ?? "").trim();
    if (justification === "") {
      warnings.push(
        `${IGNORE_FILE}:${index + 1}: ${match[1]} has no justification; not honoured (add "# why this is safe")`,
      );
      return;
    }
    entries.set(match[1], { fingerprint: match[1], justification, line: index + 1 });
  });
  return { entries, warnings };
}

export interface SuppressionResult {
  findings: Finding[];
  suppressed: SuppressedFinding[];
  warnings: string[];
}

/**
 * Applies inline allow comments (same or previous line of the finding) and the ignore file.
 * `linesOf(file)` returns the file's lines (or null when unavailable, e.g. for a history-only finding).
 */
export function applySuppressions(
  findings: Finding[],
  linesOf: (file: string) => string[] | null,
  ignore: IgnoreFile,
): SuppressionResult {
  const kept: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  const warnings: string[] = [];
  for (const finding of findings) {
    const lines = linesOf(finding.file);
    const candidates = lines
      ? [lines[finding.line - 1], lines[finding.line - 2]].filter((l): l is string => l !== undefined)
      : [];
    const allow = candidates
      .map(parseAllowComment)
      .find((a): a is InlineAllow => a !== null && a.ruleId === finding.ruleId);
    if (allow && allow.justification !== "") {
      suppressed.push({ finding, by: "inline", justification: allow.justification });
      continue;
    }
    if (allow) {
      warnings.push(
        `${finding.file}:${finding.line}: allow comment for ${finding.ruleId} has no justification; not honoured`,
      );
    }
    const entry = ignore.entries.get(finding.fingerprint);
    if (entry) {
      suppressed.push({ finding, by: "ignore-file", justification: entry.justification });
      continue;
    }
    kept.push(finding);
  }
  return { findings: kept, suppressed, warnings };
}
