import { execFile } from "node:child_process";
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { positionOf } from "./files.ts";
import { makeFinding } from "./suppress.ts";
import type { Finding, RuleMeta, ScannerStatus, Severity } from "./types.ts";

export const VULNERABLE_DEPENDENCY: RuleMeta = {
  id: "HBS-DEP-001",
  scanner: "deps",
  severity: "high",
  title: "Dependency with a known vulnerability (npm audit)",
  fix: "Upgrade to a fixed version (npm audit fix, or bump the direct dependency that pulls it in); if no fix exists, assess exposure and record the decision in .hbsync-scan-ignore.",
  references: {},
};

export const DEPS_RULES: RuleMeta[] = [VULNERABLE_DEPENDENCY];

export const AUDIT_TIMEOUT_MS = 60_000;

/** npm's error codes (and messages) for "the registry could not be reached". */
const NETWORK_ERROR =
  /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ENETUNREACH|EHOSTUNREACH|EPROTO|ECONNABORTED|socket hang up|network)\b/i;

export interface DepsScanOutput {
  status: ScannerStatus;
  findings: Finding[];
  filesScanned: number;
}

interface AuditResult {
  stdout: string;
  stderr: string;
  code: number | null;
  timedOut: boolean;
}

function runAudit(root: string, env: NodeJS.ProcessEnv): Promise<AuditResult> {
  return new Promise((resolve) => {
    execFile(
      "npm",
      ["audit", "--json", "--package-lock-only"],
      { cwd: root, env, timeout: AUDIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === "number" ? error.code : error ? null : 0;
        const timedOut = Boolean(error && (error as { killed?: boolean }).killed);
        resolve({ stdout: String(stdout), stderr: String(stderr), code, timedOut });
      },
    );
  });
}

/**
 * `npm audit --json` on the lockfile. When the registry (or its audit endpoint) cannot answer, the scan is
 * reported as skipped — never as a pass, since nothing was checked.
 */
export async function scanDeps(root: string, env: NodeJS.ProcessEnv): Promise<DepsScanOutput> {
  const lockfile = join(root, "package-lock.json");
  try {
    await access(lockfile);
  } catch {
    return { status: "skipped: no package-lock.json", findings: [], filesScanned: 0 };
  }
  const result = await runAudit(root, env);
  if (result.timedOut) {
    return { status: "skipped: registry unreachable (npm audit timed out)", findings: [], filesScanned: 1 };
  }
  const status = classifyAuditFailure(result.stdout, result.stderr);
  if (status) return { status, findings: [], filesScanned: 1 };
  let report: unknown;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    return { status: "skipped: npm audit printed no JSON report", findings: [], filesScanned: 1 };
  }
  const lockText = await readFile(lockfile, "utf8");
  return { status: "ok", findings: auditFindings(report, lockText), filesScanned: 1 };
}

/** A skip status when npm audit failed to get an answer, null when it produced a report. */
export function classifyAuditFailure(stdout: string, stderr: string): ScannerStatus | null {
  let parsed: Record<string, unknown> | null = null;
  try {
    parsed = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    parsed = null;
  }
  if (parsed && "vulnerabilities" in parsed) return null;
  const text = `${typeof parsed?.message === "string" ? parsed.message : ""}\n${stderr}`;
  if (NETWORK_ERROR.test(text)) return "skipped: registry unreachable";
  const status = /\b([45]\d\d)\b[^\n]*/.exec(text);
  if (status) return `skipped: audit endpoint unavailable (${status[0].trim().slice(0, 120)})`;
  return `skipped: npm audit failed (${(text.trim().split("\n")[0] ?? "no output").slice(0, 120)})`;
}

const NPM_SEVERITY: Record<string, Severity> = {
  info: "low",
  low: "low",
  moderate: "medium",
  high: "high",
  critical: "critical",
};

/** Findings from an npm audit v2 report (`{ vulnerabilities: { <name>: { severity, via, range, … } } }`). */
export function auditFindings(report: unknown, lockText: string): Finding[] {
  const vulnerabilities = (report as { vulnerabilities?: Record<string, Record<string, unknown>> })
    .vulnerabilities;
  if (!vulnerabilities) return [];
  const findings: Finding[] = [];
  for (const [name, vulnerability] of Object.entries(vulnerabilities)) {
    const advisories = (Array.isArray(vulnerability.via) ? vulnerability.via : []).filter(
      (v): v is Record<string, unknown> => Boolean(v) && typeof v === "object",
    );
    // Entries whose `via` only names other packages are reported through those packages.
    if (advisories.length === 0) continue;
    const severity = NPM_SEVERITY[String(vulnerability.severity)] ?? "high";
    const key = `"node_modules/${name}"`;
    const index = lockText.indexOf(key);
    const { line, col } = index >= 0 ? positionOf(lockText, index) : { line: 1, col: 1 };
    const titles = advisories.map(
      (a) => `${String(a.title ?? "advisory")} (${String(a.url ?? a.source ?? "")})`,
    );
    const fix = vulnerability.fixAvailable ? "a fix is available (npm audit fix)" : "no fix available yet";
    const finding = makeFinding(
      { ...VULNERABLE_DEPENDENCY, severity },
      {
        file: "package-lock.json",
        line,
        col,
        match: `${name}:${advisories.map((a) => String(a.url ?? a.source ?? a.title)).join(",")}`,
        message: `${name} ${String(vulnerability.range ?? "")}: ${titles.join("; ")}; ${fix}`,
      },
    );
    findings.push(finding);
  }
  return findings;
}
