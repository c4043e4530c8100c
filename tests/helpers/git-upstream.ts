/**
 * A local bare repository standing in for github.com/Homebrew/brew, plus a git client that runs the
 * real `git` asynchronously (a synchronous child would block the event loop, and with it an
 * `hbsync serve` running in the same process).
 *
 *   const upstream = await createGitUpstream();
 *   await upstream.commit("one", { "README.md": "hi" });
 *   await upstream.tag("4.0.0");
 *   … publishBrewGit({ upstream: upstream.url, … }) …
 *   await upstream.close();
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Deterministic identity and no user or system config, so results do not depend on the host. */
const GIT_ENV = {
  GIT_AUTHOR_NAME: "hbsync test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "hbsync test",
  GIT_COMMITTER_EMAIL: "test@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
};

/** Runs git in `cwd` and returns its stdout; a failure rejects with git's stderr. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("git", args, {
    cwd,
    env: { ...process.env, ...GIT_ENV },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

export interface GitUpstream {
  /** What publishBrewGit fetches from (a path to the bare repository). */
  url: string;
  /** A scratch folder for clients. */
  dir: string;
  /** Commits `files` (path → content) on `branch` (default main) and pushes it to the bare repository. */
  commit(message: string, files?: Record<string, string>, branch?: string): Promise<string>;
  /** An annotated tag on the current commit, pushed. */
  tag(name: string): Promise<void>;
  /** `git log --format=%H` of a ref in the bare repository. */
  log(ref?: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function createGitUpstream(): Promise<GitUpstream> {
  const dir = await mkdtemp(join(tmpdir(), "hbsync-git-upstream-"));
  const work = join(dir, "work");
  const bare = join(dir, "brew.git");
  await git(dir, "init", "--quiet", "--bare", "--initial-branch=main", bare);
  await git(dir, "init", "--quiet", "--initial-branch=main", work);
  let count = 0;
  let branchNow = "main";
  return {
    url: bare,
    dir,
    async commit(message, files = {}, branch = "main") {
      if (branchNow !== branch) {
        const exists = (await git(work, "branch", "--list", branch)).trim() !== "";
        await git(work, "checkout", "--quiet", ...(exists ? [branch] : ["-b", branch]));
        branchNow = branch;
      }
      const content = Object.keys(files).length > 0 ? files : { [`file-${++count}.txt`]: `${message}\n` };
      for (const [path, text] of Object.entries(content)) {
        await mkdir(dirname(join(work, path)), { recursive: true });
        await writeFile(join(work, path), text);
      }
      await git(work, "add", "--all");
      await git(work, "commit", "--quiet", "-m", message);
      await git(work, "push", "--quiet", bare, branch);
      return (await git(work, "rev-parse", "HEAD")).trim();
    },
    async tag(name) {
      await git(work, "tag", "-a", name, "-m", `Homebrew ${name}`);
      await git(work, "push", "--quiet", bare, `refs/tags/${name}`);
    },
    async log(ref = "main") {
      return (await git(bare, "log", "--format=%H", ref)).trim().split("\n");
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
