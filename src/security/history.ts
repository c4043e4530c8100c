import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { GitHistoryError } from "./errors.ts";
import { isSkipped } from "./files.ts";
import { scanSecretsInText } from "./secrets.ts";
import type { Finding, RuleMeta } from "./types.ts";

const execFileAsync = promisify(execFile);
const COMMIT_MARK = "__hbsync_commit__";

/** The lines one commit added to one file, with their line numbers in that commit's version. */
export interface AddedLines {
  commit: string;
  file: string;
  lines: Array<{ line: number; text: string }>;
}

/** Parses `git log -p --unified=0 --format=<mark>%H` into added lines per commit and file. */
export function parseGitLogPatch(patch: string): AddedLines[] {
  const out: AddedLines[] = [];
  let commit = "";
  let current: AddedLines | null = null;
  let nextLine = 0;
  for (const raw of patch.split("\n")) {
    if (raw.startsWith(COMMIT_MARK)) {
      commit = raw.slice(COMMIT_MARK.length).trim();
      current = null;
      continue;
    }
    if (raw.startsWith("diff --git ")) {
      current = null;
      continue;
    }
    if (raw.startsWith("+++ ")) {
      const path = raw.slice(4).trim();
      if (path === "/dev/null") {
        current = null;
      } else {
        current = { commit, file: path.replace(/^b\//, ""), lines: [] };
        out.push(current);
      }
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (hunk?.[1]) {
      nextLine = Number(hunk[1]);
      continue;
    }
    if (current && raw.startsWith("+")) {
      current.lines.push({ line: nextLine, text: raw.slice(1) });
      nextLine += 1;
    }
  }
  return out.filter((a) => a.lines.length > 0);
}

export interface HistoryScanOutput {
  findings: Finding[];
  extraRules: RuleMeta[];
  commits: number;
}

/**
 * Scans every line ever added under `root` (all commits reachable from HEAD) with the same secret rules as
 * the working tree. A secret deleted in a later commit is still in the history, and still leaked.
 */
export async function scanGitHistory(root: string): Promise<HistoryScanOutput> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(
      "git",
      [
        "log",
        "-p",
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        "--unified=0",
        `--format=${COMMIT_MARK}%H`,
        "--",
        ".",
      ],
      { cwd: root, maxBuffer: 512 * 1024 * 1024 },
    ));
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new GitHistoryError(root, detail ?? "git log failed", error);
  }
  const added = parseGitLogPatch(stdout);
  const findings: Finding[] = [];
  const extraRules = new Map<string, RuleMeta>();
  const seen = new Set<string>();
  for (const chunk of added) {
    if (isSkipped(chunk.file)) continue;
    // Scan the added lines as one text; map its line numbers back to the commit's line numbers.
    const text = chunk.lines.map((l) => l.text).join("\n");
    const result = await scanSecretsInText(chunk.file, text);
    for (const rule of result.extraRules) extraRules.set(rule.id, rule);
    for (const finding of result.findings) {
      // Newest commit first: keep the first sighting of each secret.
      if (seen.has(finding.fingerprint)) continue;
      seen.add(finding.fingerprint);
      const line = chunk.lines[finding.line - 1]?.line ?? finding.line;
      findings.push({
        ...finding,
        line,
        message: `${finding.message} (added in commit ${chunk.commit.slice(0, 12)}; it stays in the history even if deleted since)`,
      });
    }
  }
  const commits = new Set(added.map((a) => a.commit)).size;
  return { findings, extraRules: [...extraRules.values()], commits };
}
