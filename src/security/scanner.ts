import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { DEPS_RULES, scanDeps } from "./deps.ts";
import { ScanRootError } from "./errors.ts";
import { listFiles, readText } from "./files.ts";
import { scanGitHistory } from "./history.ts";
import { IAC_RULES } from "./iac-rules/index.ts";
import { SECRET_RULES, scanSecretsInText } from "./secrets.ts";
import { applySuppressions, loadIgnoreFile } from "./suppress.ts";
import {
  atOrAbove,
  type Finding,
  type RuleMeta,
  type ScannerKind,
  type ScannerResult,
  type ScanReport,
  type Severity,
} from "./types.ts";
import { isWorkflowFile, scanWorkflow, WORKFLOW_RULES } from "./workflows.ts";

export interface ScanOptions {
  /** Directory to scan (findings are reported relative to it). */
  root: string;
  kinds: ScannerKind[];
  /** Findings at or above this severity make the scan fail. */
  threshold: Severity;
  /** Also scan lines added in the git history (secrets only). */
  history?: boolean;
  /** Environment for child processes (npm audit reads npm_config_registry from it). */
  env?: NodeJS.ProcessEnv;
}

/** Runs the requested scanners over `root` and returns every finding, suppressed finding and skip. */
export async function runScan(options: ScanOptions): Promise<ScanReport> {
  const root = resolve(options.root);
  const info = await stat(root).catch((error: unknown) => {
    throw new ScanRootError(root, error);
  });
  if (!info.isDirectory()) throw new ScanRootError(root);

  const files = await listFiles(root);
  const texts = new Map<string, string>();
  const textOf = async (file: string): Promise<string | null> => {
    if (texts.has(file)) return texts.get(file) ?? null;
    const text = await readText(root, file).catch(() => null);
    if (text !== null) texts.set(file, text);
    return text;
  };
  const linesOf = (file: string): string[] | null => texts.get(file)?.split(/\r?\n/) ?? null;
  const ignore = await loadIgnoreFile(root);
  const rules = new Map<string, RuleMeta>();
  const addRules = (list: RuleMeta[]) => {
    for (const rule of list) rules.set(rule.id, rule);
  };

  const scanners: ScannerResult[] = [];
  const finish = (
    scanner: ScannerKind,
    raw: Finding[],
    filesScanned: number,
    warnings: string[],
    status: ScannerResult["status"] = "ok",
    lines: (file: string) => string[] | null = linesOf,
  ) => {
    const applied = applySuppressions(raw, lines, ignore);
    scanners.push({
      scanner,
      status,
      filesScanned,
      findings: applied.findings,
      suppressed: applied.suppressed,
      warnings: [...warnings, ...applied.warnings],
    });
  };

  for (const kind of options.kinds) {
    if (kind === "secrets") {
      addRules(SECRET_RULES);
      const raw: Finding[] = [];
      let scanned = 0;
      for (const file of files) {
        const text = await textOf(file);
        if (text === null) continue;
        scanned += 1;
        const result = await scanSecretsInText(file, text);
        addRules(result.extraRules);
        raw.push(...result.findings);
      }
      finish("secrets", raw, scanned, []);
      if (options.history) {
        const current = scanners[scanners.length - 1];
        const history = await scanGitHistory(root);
        addRules(history.extraRules);
        const known = new Set([
          ...(current?.findings ?? []).map((f) => f.fingerprint),
          ...(current?.suppressed ?? []).map((s) => s.finding.fingerprint),
        ]);
        const fresh = history.findings.filter((f) => !known.has(f.fingerprint));
        const applied = applySuppressions(fresh, () => null, { entries: ignore.entries, warnings: [] });
        if (current) {
          current.findings.push(...applied.findings);
          current.suppressed.push(...applied.suppressed);
          current.warnings.push(`history: scanned lines added by ${history.commits} commit(s)`);
        }
      }
    } else if (kind === "iac") {
      addRules(IAC_RULES);
      const tf: Array<{ file: string; text: string }> = [];
      for (const file of files.filter((f) => f.endsWith(".tf"))) {
        const text = await textOf(file);
        if (text !== null) tf.push({ file, text });
      }
      // Loaded here: @cdktf/hcl2json starts a Go wasm runtime, which every other command would pay for.
      const { scanIac } = await import("./iac.ts");
      const result = await scanIac(tf);
      finish("iac", result.findings, result.filesScanned, result.warnings);
    } else if (kind === "workflows") {
      addRules(WORKFLOW_RULES);
      const raw: Finding[] = [];
      const warnings: string[] = [];
      let scanned = 0;
      for (const file of files.filter(isWorkflowFile)) {
        const text = await textOf(file);
        if (text === null) continue;
        scanned += 1;
        const result = scanWorkflow(file, text);
        raw.push(...result.findings);
        warnings.push(...result.warnings);
      }
      finish("workflows", raw, scanned, warnings);
    } else if (kind === "deps") {
      addRules(DEPS_RULES);
      const result = await scanDeps(root, options.env ?? process.env);
      if (result.status === "ok") await textOf("package-lock.json");
      finish("deps", result.findings, result.filesScanned, [], result.status);
    }
  }

  // Ignore-file warnings belong to the whole scan: report them once, on the first scanner.
  scanners[0]?.warnings.unshift(...ignore.warnings);

  const findings = scanners.flatMap((s) => s.findings).sort(byLocation);
  return {
    root,
    threshold: options.threshold,
    scanners,
    findings,
    failing: findings.filter((f) => atOrAbove(f.severity, options.threshold)),
    rules: [...rules.values()].sort((a, b) => a.id.localeCompare(b.id)),
  };
}

function byLocation(a: Finding, b: Finding): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.ruleId.localeCompare(b.ruleId);
}
