import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { SarifWriteError } from "../../security/errors.ts";
import { toSarif } from "../../security/sarif.ts";
import { runScan } from "../../security/scanner.ts";
import {
  isSeverity,
  SCANNER_KINDS,
  type ScannerKind,
  type ScanReport,
  type Severity,
} from "../../security/types.ts";
import { UsageError } from "../../shared/errors.ts";
import { VERSION } from "../cli.ts";
import type { CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";

interface ScanFlags {
  path?: string;
  sarif?: string;
  json?: boolean;
  severity: string;
  history?: boolean;
}

const TARGETS = [...SCANNER_KINDS, "all"] as const;

/** `hbsync scan [secrets|iac|workflows|deps|all] [--path DIR] [--sarif FILE] [--json] [--severity S] [--history]` */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("scan")
    .description(
      "Scan for secrets, Terraform policy violations, workflow hardening gaps and vulnerable dependencies; exit 1 on findings at or above --severity",
    )
    .argument("[target]", `what to scan: ${TARGETS.join("|")}`, "all")
    .option("--path <dir>", "directory to scan (default: the current directory)")
    .option("--sarif <file>", "also write a SARIF 2.1.0 report (for GitHub code scanning)")
    .option("--json", "print one JSON document on stdout")
    .option("--severity <level>", "fail on findings at or above: low|medium|high|critical", "medium")
    .option("--history", "also scan lines added in the git history (secrets)")
    .action(async (target: string, flags: ScanFlags) => {
      if (!(TARGETS as readonly string[]).includes(target)) {
        throw new UsageError(`unknown scan target "${target}"`, { fix: `use one of: ${TARGETS.join(", ")}` });
      }
      if (!isSeverity(flags.severity)) {
        throw new UsageError(`unknown severity "${flags.severity}"`, {
          fix: "use one of: low, medium, high, critical",
        });
      }
      const kinds: ScannerKind[] = target === "all" ? [...SCANNER_KINDS] : [target as ScannerKind];
      const report = await runScan({
        root: resolve(ctx.cwd, flags.path ?? "."),
        kinds,
        threshold: flags.severity as Severity,
        history: flags.history === true,
        env: ctx.env,
      });
      if (flags.sarif) {
        const file = resolve(ctx.cwd, flags.sarif);
        try {
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, `${JSON.stringify(toSarif(report, VERSION), null, 2)}\n`);
        } catch (error) {
          throw new SarifWriteError(file, error);
        }
      }
      if (flags.json) ctx.output.json(jsonReport(report));
      else printReport(report, ctx);
      ctx.exitCode = report.failing.length > 0 ? EXIT.FAILED : EXIT.OK;
    });
}

function jsonReport(report: ScanReport): unknown {
  return {
    root: report.root,
    threshold: report.threshold,
    passed: report.failing.length === 0,
    scanners: report.scanners.map((s) => ({
      scanner: s.scanner,
      status: s.status,
      filesScanned: s.filesScanned,
      findings: s.findings.length,
      suppressed: s.suppressed.map((x) => ({
        ...x.finding,
        suppressedBy: x.by,
        justification: x.justification,
      })),
      warnings: s.warnings,
    })),
    findings: report.findings,
  };
}

function printReport(report: ScanReport, ctx: CliContext): void {
  const out = ctx.output;
  for (const finding of report.findings) {
    out.out(
      `${finding.file}:${finding.line}:${finding.col}  ${finding.severity.toUpperCase()}  ${finding.ruleId}  ${finding.message}`,
    );
    out.out(`    fix: ${finding.fix}`);
    out.out(`    fingerprint: ${finding.fingerprint}`);
  }
  for (const scanner of report.scanners) {
    const suppressed = scanner.suppressed.length > 0 ? `, ${scanner.suppressed.length} suppressed` : "";
    const state = scanner.status === "ok" ? "ok" : `SKIPPED (${scanner.status.replace(/^skipped: /, "")})`;
    out.out(
      `${scanner.scanner}: ${state} — ${scanner.filesScanned} file(s), ${scanner.findings.length} finding(s)${suppressed}`,
    );
    for (const warning of scanner.warnings) out.err(`warning: ${scanner.scanner}: ${warning}`);
  }
  const skipped = report.scanners.filter((s) => s.status !== "ok");
  const skippedNote =
    skipped.length > 0 ? `; NOT checked: ${skipped.map((s) => `${s.scanner} (${s.status})`).join(", ")}` : "";
  if (report.failing.length > 0) {
    out.out(`FAILED: ${report.failing.length} finding(s) at or above ${report.threshold}${skippedNote}`);
  } else {
    const below = report.findings.length > 0 ? ` (${report.findings.length} below the threshold)` : "";
    out.out(`no findings at or above ${report.threshold}${below}${skippedNote}`);
  }
}
