import type { Finding, RuleMeta, ScanReport, Severity, SuppressedFinding } from "./types.ts";

/** SARIF 2.1.0, as GitHub code scanning reads it (tool.driver.rules, results, partialFingerprints). */
export interface SarifLog {
  $schema: string;
  version: "2.1.0";
  runs: SarifRun[];
}

interface SarifRun {
  tool: { driver: SarifDriver };
  invocations: Array<{
    executionSuccessful: boolean;
    toolExecutionNotifications: Array<{ level: "note" | "warning" | "error"; message: { text: string } }>;
  }>;
  results: SarifResult[];
}

interface SarifDriver {
  name: string;
  version: string;
  rules: Array<{
    id: string;
    name: string;
    shortDescription: { text: string };
    fullDescription: { text: string };
    help: { text: string; markdown: string };
    defaultConfiguration: { level: SarifLevel };
    properties: { tags: string[]; "security-severity": string; precision: string };
  }>;
}

type SarifLevel = "note" | "warning" | "error";

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations: Array<{
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId: string };
      region: { startLine: number; startColumn: number };
    };
  }>;
  partialFingerprints: Record<string, string>;
  properties: { severity: Severity; fix: string };
  suppressions?: Array<{ kind: "inSource" | "external"; justification: string }>;
}

export const SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json";

export function sarifLevel(severity: Severity): SarifLevel {
  if (severity === "critical" || severity === "high") return "error";
  if (severity === "medium") return "warning";
  return "note";
}

/** GitHub's `security-severity` (0.0–10.0) that it maps back to critical/high/medium/low. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0",
};

/** Encodes a relative path as a URI reference (spaces, `%`, `#`, `?` escaped; `/` kept). */
function uriOf(file: string): string {
  return file.split("/").map(encodeURIComponent).join("/");
}

export function toSarif(report: ScanReport, toolVersion: string): SarifLog {
  const rules = [...report.rules].sort((a, b) => a.id.localeCompare(b.id));
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  const result = (finding: Finding, suppression?: SuppressedFinding): SarifResult => ({
    ruleId: finding.ruleId,
    ruleIndex: ruleIndex.get(finding.ruleId) ?? -1,
    level: sarifLevel(finding.severity),
    message: { text: finding.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: uriOf(finding.file), uriBaseId: "%SRCROOT%" },
          region: { startLine: Math.max(1, finding.line), startColumn: Math.max(1, finding.col) },
        },
      },
    ],
    partialFingerprints: { "hbsyncFindingHash/v1": finding.fingerprint },
    properties: { severity: finding.severity, fix: finding.fix },
    ...(suppression
      ? {
          suppressions: [
            {
              kind: suppression.by === "inline" ? ("inSource" as const) : ("external" as const),
              justification: suppression.justification,
            },
          ],
        }
      : {}),
  });
  return {
    $schema: SARIF_SCHEMA_URI,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "hbsync-scan",
            version: toolVersion,
            rules: rules.map(sarifRule),
          },
        },
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: report.scanners.flatMap((s) => [
              ...(s.status === "ok"
                ? []
                : [{ level: "warning" as const, message: { text: `${s.scanner}: ${s.status}` } }]),
              ...s.warnings.map((w) => ({ level: "note" as const, message: { text: `${s.scanner}: ${w}` } })),
            ]),
          },
        ],
        results: [
          ...report.findings.map((f) => result(f)),
          ...report.scanners.flatMap((s) => s.suppressed.map((sup) => result(sup.finding, sup))),
        ],
      },
    ],
  };
}

function sarifRule(rule: RuleMeta): SarifDriver["rules"][number] {
  const references = [...(rule.references.checkov ?? []), ...(rule.references.trivy ?? [])];
  return {
    id: rule.id,
    name: rule.id.replace(/[^A-Za-z0-9]+/g, ""),
    shortDescription: { text: rule.title },
    fullDescription: {
      text: references.length > 0 ? `${rule.title} (see also ${references.join(", ")})` : rule.title,
    },
    help: { text: rule.fix, markdown: `**Fix:** ${rule.fix}` },
    defaultConfiguration: { level: sarifLevel(rule.severity) },
    properties: {
      tags: ["security", rule.scanner, ...references],
      "security-severity": SECURITY_SEVERITY[rule.severity],
      precision: "high",
    },
  };
}
