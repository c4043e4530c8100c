/**
 * The SecurityScanner's data model: one Finding shape for every scanner (secrets, iac, workflows, deps),
 * rule metadata shared by the text report, JSON and SARIF, and the report a scan returns.
 */

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const SCANNER_KINDS = ["secrets", "iac", "workflows", "deps"] as const;
export type ScannerKind = (typeof SCANNER_KINDS)[number];

/** Ids of the equivalent checks in other tools, so a finding can be cross-referenced (and SARIF-tagged). */
export interface RuleReferences {
  checkov?: string[];
  trivy?: string[];
}

export interface RuleMeta {
  /** `HBS-SEC-001`, `HBS-IAC-010`, `HBS-GHA-003`, `HBS-DEP-001`, or `secretlint/<rule>`. */
  id: string;
  scanner: ScannerKind;
  severity: Severity;
  /** One line: what the rule looks for. */
  title: string;
  /** How to fix a finding of this rule. */
  fix: string;
  references: RuleReferences;
}

export interface Finding {
  ruleId: string;
  severity: Severity;
  message: string;
  fix: string;
  /** Path relative to the scan root, with `/` separators. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  /** Stable hash of ruleId + file + the normalised match (never the line number): survives edits elsewhere. */
  fingerprint: string;
  references: RuleReferences;
}

export interface SuppressedFinding {
  finding: Finding;
  /** `inline` (an allow comment) or `ignore-file` (.hbsync-scan-ignore). */
  by: "inline" | "ignore-file";
  justification: string;
}

export type ScannerStatus = "ok" | `skipped: ${string}`;

export interface ScannerResult {
  scanner: ScannerKind;
  status: ScannerStatus;
  /** Files (or, for deps, lockfiles) the scanner looked at. */
  filesScanned: number;
  findings: Finding[];
  suppressed: SuppressedFinding[];
  /** Problems that did not stop the scan (an unparsable file, an unjustified allow entry). */
  warnings: string[];
}

export interface ScanReport {
  root: string;
  threshold: Severity;
  scanners: ScannerResult[];
  /** Every finding of every scanner, sorted by file, line, rule. */
  findings: Finding[];
  /** Findings at or above the threshold: a non-empty list means exit 1. */
  failing: Finding[];
  /** The rules that ran (for SARIF `tool.driver.rules`). */
  rules: RuleMeta[];
}

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function atOrAbove(severity: Severity, threshold: Severity): boolean {
  return severityRank(severity) >= severityRank(threshold);
}

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}
