import { execFile } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * Directories never scanned: dependencies, build and test output, VCS internals, Terraform caches, and the
 * security fixture tree (whose planted findings are there on purpose). Paths are relative to the scan root.
 */
export const SKIPPED_DIRS = [
  "node_modules",
  "dist",
  "reports",
  "coverage",
  ".git",
  ".terraform",
  "tests/fixtures/security",
];

/** Files larger than this are not text worth scanning for secrets (bundles, dumps). */
export const MAX_FILE_BYTES = 1024 * 1024;

export function toPosix(path: string): string {
  return path.split(sep).join("/");
}

export function isSkipped(relPath: string): boolean {
  const segments = relPath.split("/");
  return SKIPPED_DIRS.some((dir) => {
    if (dir.includes("/")) return relPath === dir || relPath.startsWith(`${dir}/`);
    return segments.slice(0, -1).includes(dir) || relPath === dir;
  });
}

/**
 * Every file under `root` that a commit could contain: in a git work tree, tracked plus untracked-but-not-
 * ignored files (`git ls-files -co --exclude-standard`); elsewhere, a directory walk. Both minus SKIPPED_DIRS.
 * Paths come back relative to `root`, with `/` separators, sorted.
 */
export async function listFiles(root: string): Promise<string[]> {
  const fromGit = await listGitFiles(root);
  const all = fromGit ?? (await walk(root, ""));
  const present: string[] = [];
  for (const file of all) {
    if (isSkipped(file)) continue;
    const info = await stat(join(root, file)).catch(() => null);
    if (info?.isFile()) present.push(file);
  }
  return present.sort();
}

async function listGitFiles(root: string): Promise<string[] | null> {
  try {
    const { stdout } = await execFileAsync("git", ["ls-files", "-co", "--exclude-standard", "-z"], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.split("\0").filter((f) => f !== "");
  } catch {
    return null;
  }
}

async function walk(root: string, dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries) {
    const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!isSkipped(`${rel}/x`)) out.push(...(await walk(root, rel)));
    } else if (entry.isFile()) {
      out.push(rel);
    }
  }
  return out;
}

/** The file's text, or null when it is binary (has a NUL byte) or too large. */
export async function readText(root: string, file: string): Promise<string | null> {
  const path = join(root, file);
  const info = await stat(path);
  if (info.size > MAX_FILE_BYTES) return null;
  const buffer = await readFile(path);
  if (buffer.subarray(0, 8000).includes(0)) return null;
  return buffer.toString("utf8");
}

export function relativePosix(root: string, path: string): string {
  return toPosix(relative(root, path));
}

/** 1-based line and column of a character offset. */
export function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      lastBreak = i;
    }
  }
  return { line, col: offset - lastBreak };
}
