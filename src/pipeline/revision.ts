/**
 * The git side of a deployment: which revision of infra/ and config.yaml it applied (recorded in the
 * ledger), whether one commit is older than another (a deploy may not go backwards), and a worktree of
 * a recorded revision (a rollback applies the infra/ and config.yaml it recorded, not today's).
 *
 * Over the real `git` binary (spawned without a shell). A directory outside a git repository has no
 * revision: deploys from it record none, and cannot be compared or checked out.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { PipelineError } from "./errors.ts";

const execFileAsync = promisify(execFile);

/** What a deployment applied, as the ledger records it. */
export interface SourceRevision {
  /** The commit checked out (HEAD) when the deployment ran. */
  commit: string;
  /** Tree id of the infra/ directory at that commit, when it has one. */
  infra: string | null;
  /** Blob id of the config file at that commit, when it is tracked. */
  config: string | null;
  /** Tracked files under infra/ or the config file had uncommitted changes: the commit alone does not reproduce the deploy. */
  dirty: boolean;
}

export interface GitRepo {
  /** The repository's top-level directory. */
  root: string;
  git(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

const SHA = /^[0-9a-f]{40}$/;

async function git(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync("git", args, { cwd, maxBuffer: 4 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === "number" ? e.code : 127,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? String(error),
    };
  }
}

/** The repository `cwd` is in, or undefined (not a repository, or no git). */
export async function openRepo(cwd: string): Promise<GitRepo | undefined> {
  const top = await git(cwd, ["rev-parse", "--show-toplevel"]);
  if (top.code !== 0) return undefined;
  const root = top.stdout.trim();
  return { root, git: (args) => git(root, args) };
}

/** The full commit id `ref` names (a SHA, a tag, a branch), or undefined when this clone does not have it. */
export async function resolveCommit(repo: GitRepo, ref: string): Promise<string | undefined> {
  if (ref.startsWith("-")) return undefined;
  const result = await repo.git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  const sha = result.stdout.trim();
  return result.code === 0 && SHA.test(sha) ? sha : undefined;
}

/** True when `older` is a strict ancestor of `newer` (both full commit ids present in the clone). */
export async function isAncestor(repo: GitRepo, older: string, newer: string): Promise<boolean> {
  if (older === newer) return false;
  const result = await repo.git(["merge-base", "--is-ancestor", older, newer]);
  if (result.code === 0) return true;
  if (result.code === 1) return false;
  throw new PipelineError(
    "HBS-DEP-012",
    `git merge-base failed for ${older} and ${newer}: ${result.stderr.trim()}`,
  );
}

/** A path relative to the repository root, or undefined when it lies outside the repository. */
export function repoRelative(repo: GitRepo, path: string): string | undefined {
  const rel = relative(repo.root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel)) ? rel : undefined;
}

/** HEAD, the ids of `infraDir` and `configFile` in it, and whether either has uncommitted changes. */
export async function sourceRevision(
  repo: GitRepo,
  paths: { infraDir: string; configFile: string },
): Promise<SourceRevision | undefined> {
  const commit = await resolveCommit(repo, "HEAD");
  if (!commit) return undefined;
  const infra = repoRelative(repo, paths.infraDir);
  const config = repoRelative(repo, paths.configFile);
  const objectId = async (rel: string | undefined): Promise<string | null> => {
    if (rel === undefined) return null;
    const result = await repo.git(["rev-parse", "--verify", "--quiet", `${commit}:${rel === "" ? "" : rel}`]);
    return result.code === 0 ? result.stdout.trim() : null;
  };
  const tracked = [infra, config].filter((p): p is string => p !== undefined);
  const status = tracked.length
    ? await repo.git(["status", "--porcelain", "--untracked-files=no", "--", ...tracked])
    : { code: 0, stdout: "", stderr: "" };
  return {
    commit,
    infra: await objectId(infra),
    config: await objectId(config),
    dirty: status.code !== 0 || status.stdout.trim() !== "",
  };
}

/**
 * Runs `fn` in a detached worktree of `commit` (the repository's own files at that revision), then
 * removes it. HBS-DEP-012 when the clone does not have the commit.
 */
export async function withWorktree<T>(
  repo: GitRepo,
  commit: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  if (!(await resolveCommit(repo, commit))) {
    throw new PipelineError("HBS-DEP-012", `commit ${commit} is not in the clone at ${repo.root}`);
  }
  const base = await mkdtemp(join(tmpdir(), "hbsync-revision-"));
  const dir = join(base, "checkout");
  const added = await repo.git(["worktree", "add", "--detach", "--quiet", dir, commit]);
  if (added.code !== 0) {
    await rm(base, { recursive: true, force: true });
    throw new PipelineError("HBS-DEP-012", `git worktree add ${commit} failed: ${added.stderr.trim()}`);
  }
  try {
    return await fn(dir);
  } finally {
    await repo.git(["worktree", "remove", "--force", dir]);
    await rm(base, { recursive: true, force: true });
    await repo.git(["worktree", "prune"]);
  }
}

/** `path` (absolute or relative to `cwd`) as the same path inside `checkout`, when it is in the repository. */
export function inCheckout(repo: GitRepo, checkout: string, cwd: string, path: string): string | undefined {
  const rel = repoRelative(repo, resolve(cwd, path));
  return rel === undefined ? undefined : join(checkout, rel);
}
